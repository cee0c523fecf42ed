public import Logging
public import NIOCore
import NIOConcurrencyHelpers
public import NIOPosix

/// The Redis client the rest of Hallpass shares: connections pipelined and multiplexed between
/// all callers, connected lazily and reconnected after they are lost.
///
/// Callers on a thread of no event loop (Swift Concurrency's default pool) share one
/// connection. A caller running on one of `eventLoopGroup`'s event loops, as every task does
/// once a process makes NIO's event loops Swift Concurrency's executor, gets a connection whose
/// socket lives on that same loop: its replies then resume it there, with no hop to another
/// thread. Those connections open only when such a caller first needs one.
///
/// After a failed connect the client waits out a backoff (``RedisConfiguration/reconnectBackoff``,
/// doubling per failure). During that wait commands fail at once with ``RedisError/unavailable``
/// rather than queueing, so a request handler can answer "503 Service Unavailable" promptly.
///
/// Commands are never retried: one that failed with ``RedisError/connectionClosed`` may or may
/// not have run, and only the caller knows whether it is safe to send again.
///
/// On a Redis Cluster (`redis+cluster://`) the API is the same: each command, script and
/// pipeline goes to the master serving its keys' slot, over connections of that master (one per
/// event loop, as above), and the client follows `MOVED` and `ASK` and waits out `TRYAGAIN`,
/// `CLUSTERDOWN` and `LOADING` within the command timeout. There, and only there, a command whose
/// keys span slots fails with ``RedisError/crossSlot(command:slots:)`` before it is sent, and one
/// redirected too often with ``RedisError/tooManyRedirects(command:last:)``. A command Redis 7.0
/// does not list is sent to any master and follows the `MOVED` it gets.
///
/// Call ``shutdown()`` when done.
public final class RedisClient: Sendable {
    /// The configuration every connection of this client uses.
    public let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    /// One per event loop of the group; the first also serves callers on no event loop.
    private let slots: [ConnectionSlot]
    /// The TLS context every connection shares, or why it could not be made; `nil` in plaintext.
    private let tls: Result<RedisTLS, RedisError>?
    /// Set for a Redis Cluster (`redis+cluster://`): it routes every command by its keys' slot
    /// to a master's connections of its own, and ``slots`` stay unused.
    private let cluster: RedisCluster?
    /// Set for a Sentinel service (`redis+sentinel://`): it moves the connections to a new master.
    private let sentinelWatch: RedisSentinelWatch?
    /// Connections lent to one write at a time, for writes followed by `WAIT` (one server or
    /// Sentinel; a cluster keeps its own per master).
    private let exclusive = RedisExclusiveConnections()
    /// Commands sent and not yet answered, bounded by ``RedisConfiguration/maximumPendingCommands``.
    private let pending = NIOLockedValueBox(0)

    /// Creates a client. Nothing connects until the first command.
    ///
    /// With TLS, the certificate files are read here, once (blocking): make clients at start-up.
    /// Files that cannot be used make every command fail with
    /// ``RedisError/invalidTLSSetting(_:_:)``; executables find that out earlier, through
    /// ``RedisConfiguration/init(url:caFile:certificateFile:keyFile:sentinelPassword:)``.
    ///
    /// - Parameters:
    ///   - configuration: Where to connect, credentials, timeouts and backoff.
    ///   - eventLoopGroup: Where the connections' sockets live. It must outlive the client: work
    ///     handed to a shut-down event loop is dropped, and the commands waiting on it never finish.
    ///   - logger: Receives connection state changes (connected, lost, reconnect failed).
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "hallpass.redis")
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        var logger = logger
        logger[metadataKey: "redis.address"] = "\(configuration.address)"
        self.logger = logger
        var loops = Array(eventLoopGroup.makeIterator())
        if loops.isEmpty { loops = [eventLoopGroup.next()] }
        let tls = configuration.tls.map { tlsConfiguration in
            Result { () throws(RedisError) in try RedisTLS(configuration: tlsConfiguration, host: configuration.host) }
        }
        self.tls = tls
        if case .sentinel(let sentinels, let service) = configuration.topology {
            self.sentinelWatch = RedisSentinelWatch(
                service: service, sentinels: sentinels, configuration: configuration, tls: tls, eventLoop: loops[0], logger: logger)
        } else {
            self.sentinelWatch = nil
        }
        let watch = self.sentinelWatch
        self.slots = loops.map { ConnectionSlot(configuration: configuration, tls: tls, watch: watch, eventLoop: $0, logger: logger) }
        if case .cluster(let seeds) = configuration.topology {
            self.cluster = RedisCluster(configuration: configuration, seeds: seeds, tls: tls, loops: loops, logger: logger)
        } else {
            self.cluster = nil
        }
    }

    /// Sends `command` on the caller's shared connection, connecting first if needed.
    ///
    /// - Returns: The reply; never ``RedisValue/error(_:)``.
    /// - Throws: ``RedisError/server(_:)`` for an error reply; ``RedisError/unavailable`` during
    ///   reconnect backoff; otherwise the errors of ``RedisConnection/connect(to:on:logger:)``
    ///   and ``RedisConnection/send(_:)``.
    ///
    /// On a Redis Cluster the command goes to the master serving its keys' slot (any master for
    /// a keyless command), following `MOVED` and `ASK`; see ``RedisError/crossSlot(command:slots:)``
    /// and ``RedisError/tooManyRedirects(command:last:)`` for what only a cluster throws.
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        try self.admit()
        defer { self.finish() }
        if let cluster { return try await cluster.send(command) }
        return try await self.slot().connection().send(command)
    }

    /// Sends `commands` in one write on the shared connection; see ``RedisConnection/pipeline(_:)``.
    ///
    /// On a Redis Cluster each master gets its share of the commands in one write, all masters
    /// at once, and the outcomes come back in the order of `commands`; commands for one master
    /// keep their order, commands for different masters have none. A command whose keys span
    /// slots fails alone, with ``RedisError/crossSlot(command:slots:)``.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [Result<RedisValue, RedisError>] {
        try self.admit()
        defer { self.finish() }
        if let cluster { return try await cluster.pipeline(commands) }
        return try await self.slot().connection().pipeline(commands)
    }

    /// Runs `script` with `EVALSHA`, loading it first if the server does not have it cached.
    ///
    /// The script cache is empty after a restart, a failover or `SCRIPT FLUSH`; on `NOSCRIPT`
    /// the script is loaded and run again in a single round trip.
    ///
    /// - Throws: ``RedisError/server(_:)`` for an error the script raised, or one that
    ///   `SCRIPT LOAD` reported (a syntax error); otherwise as ``send(_:)``.
    public func evalScript(
        _ script: RedisScript,
        keys: [any RedisArgument],
        arguments: [any RedisArgument]
    ) async throws -> RedisValue {
        let evalSHA = Self.evalSHA(script, keys: keys, arguments: arguments)
        if let cluster {
            // Routed by the keys, loaded on the node that runs it.
            try self.admit()
            defer { self.finish() }
            return try await cluster.evalScript(script, evalSHA: evalSHA, keys: keys)
        }
        do {
            return try await self.send(evalSHA)
        } catch RedisError.server(let message) where message.hasPrefix("NOSCRIPT") {
            let results = try await self.pipeline([RedisCommand("SCRIPT", "LOAD", script.source), evalSHA])
            guard results.count == 2 else {
                throw RedisError.unexpectedReply("\(results.count) replies to a pipeline of 2 commands")
            }
            let loaded = try results[0].get()
            guard loaded.string == script.sha1 else {
                throw RedisError.unexpectedReply("SCRIPT LOAD returned \(loaded), expected \(script.sha1)")
            }
            return try results[1].get()
        }
    }

    /// Runs `script` as ``evalScript(_:keys:arguments:)`` does, then writes `fenceKey` and
    /// sends `WAIT replicas timeout`, all in one write on one connection, and says how many
    /// replicas acknowledged.
    ///
    /// `WAIT` waits for the connection's last write, so the fence (a `SET` of `fenceKey`, which
    /// must share the script's hash slot) makes it cover everything the master held when the
    /// script ran, not only what the script wrote: a retried change the script finds already
    /// made is confirmed too. (Redis 7.0.15 already waits for the master's whole offset after a
    /// script that wrote nothing; the fence keeps that true whatever the server's version.) `WAIT` also holds up the connection it runs on, so this runs on
    /// a connection lent to this call alone (on a cluster, one to the master that runs the
    /// script), never on the shared one: lagging replicas cost this call its `timeout`, not
    /// every other caller. Fewer replicas than asked is not an error here: the write is made on
    /// the master either way, and only the caller knows what it promised.
    ///
    /// - Parameters:
    ///   - fenceKey: A key in the script's hash slot that this may overwrite.
    ///   - replicas: How many replicas must acknowledge, at least 1.
    ///   - timeout: The longest `WAIT` blocks; it must be shorter than the command timeout.
    /// - Throws: As ``evalScript(_:keys:arguments:)``.
    public func evalScript(
        _ script: RedisScript,
        keys: [any RedisArgument],
        arguments: [any RedisArgument],
        fenceKey: String,
        waitingForReplicas replicas: Int,
        timeout: Duration
    ) async throws -> RedisReplicatedReply {
        let evalSHA = Self.evalSHA(script, keys: keys, arguments: arguments)
        let fence = RedisCommand("SET", fenceKey, "1")
        let wait = RedisCommand("WAIT", max(replicas, 1), max(Int(timeout / .milliseconds(1)), 1))
        try self.admit()
        defer { self.finish() }
        if let cluster {
            return try await cluster.evalScript(script, evalSHA: evalSHA, keys: keys, fenceKey: fenceKey, fence: fence, wait: wait)
        }
        let eventLoop = self.eventLoopGroup.next()
        return try await self.exclusive.withConnection(
            to: nil,
            connect: { () async throws(RedisError) -> RedisConnection in
                do {
                    return try await RedisConnection.connect(
                        to: self.configuration, tls: self.tls?.get(), watch: self.sentinelWatch, on: eventLoop, logger: self.logger)
                } catch {
                    throw error as? RedisError ?? .connectionFailed("\(error)")
                }
            },
            { connection throws(RedisError) in
                try await Self.evalScript(script, evalSHA: evalSHA, fence: fence, wait: wait, on: connection, asking: false)
            })
    }

    static func evalSHA(_ script: RedisScript, keys: [any RedisArgument], arguments: [any RedisArgument]) -> RedisCommand {
        let head: [any RedisArgument] = [script.sha1, keys.count]
        return RedisCommand("EVALSHA", arguments: head + keys + arguments)
    }

    /// `EVALSHA`, the fence and `WAIT` in one write on `connection` (each keyed command after
    /// `ASKING` when redirected by `ASK`), with `SCRIPT LOAD` in front, once, if the node does
    /// not have the script.
    static func evalScript(
        _ script: RedisScript, evalSHA: RedisCommand, fence: RedisCommand, wait: RedisCommand, on connection: RedisConnection,
        asking: Bool
    ) async throws(RedisError) -> RedisReplicatedReply {
        let asked = { (command: RedisCommand) in asking ? [RedisCommand("ASKING"), command] : [command] }
        let tail = asked(evalSHA) + asked(fence) + [wait]
        let scriptIndex = asking ? 1 : 0
        var commands = tail
        var results = try await Self.pipeline(commands, on: connection)
        if results.count == commands.count, case .failure(.server(let message)) = results[scriptIndex], message.hasPrefix("NOSCRIPT") {
            commands = [RedisCommand("SCRIPT", "LOAD", script.source)] + tail
            results = try await Self.pipeline(commands, on: connection)
            guard results.count == commands.count else {
                throw .unexpectedReply("\(results.count) replies to a pipeline of \(commands.count) commands")
            }
            guard (try results[0].get()).string == script.sha1 else {
                throw .unexpectedReply("SCRIPT LOAD did not return \(script.sha1)")
            }
        }
        guard results.count == commands.count else {
            throw .unexpectedReply("\(results.count) replies to a pipeline of \(commands.count) commands")
        }
        let offset = commands.count - tail.count
        let value = try results[offset + scriptIndex].get()
        _ = try results[results.count - 2].get()
        guard let acknowledged = try results[results.count - 1].get().int else {
            throw .unexpectedReply("WAIT did not answer with a number")
        }
        return RedisReplicatedReply(value: value, replicas: Int(acknowledged))
    }

    private static func pipeline(_ commands: [RedisCommand], on connection: RedisConnection) async throws(RedisError) -> [Result<RedisValue, RedisError>] {
        do { return try await connection.pipeline(commands) } catch { throw error as? RedisError ?? .connectionClosed }
    }

    /// Counts a command in, or refuses it when ``RedisConfiguration/maximumPendingCommands`` are
    /// already waiting.
    private func admit() throws(RedisError) {
        guard let limit = self.configuration.maximumPendingCommands else { return }
        let admitted = self.pending.withLockedValue { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admitted else { throw .overloaded(limit: limit) }
    }

    private func finish() {
        guard self.configuration.maximumPendingCommands != nil else { return }
        self.pending.withLockedValue { $0 -= 1 }
    }

    /// Commands sent and not yet answered, when ``RedisConfiguration/maximumPendingCommands``
    /// bounds them (0 otherwise).
    public var pendingCommands: Int {
        self.pending.withLockedValue { $0 }
    }

    /// Opens a new connection with this client's configuration, for the caller alone.
    ///
    /// Blocking commands (`XREAD BLOCK`, `BLPOP`) belong on such a connection: on the shared one
    /// they would hold up every command queued behind them. The caller closes it.
    ///
    /// On a Redis Cluster the connection goes to one of the masters, whichever; a blocking
    /// read of particular keys needs the master serving them: use
    /// ``makeDedicatedConnections(forKeys:)``.
    public func makeDedicatedConnection() async throws -> RedisConnection {
        if let cluster { return try await cluster.makeDedicatedConnection(forSlot: nil).0 }
        return try await RedisConnection.connect(
            to: self.configuration, tls: self.tls?.get(), watch: self.sentinelWatch, on: self.eventLoopGroup.next(), logger: self.logger)
    }

    /// Opens connections for the caller alone that together serve `keys`: one per Redis node
    /// holding some of them, each with the keys it serves, in the order the keys first appear.
    ///
    /// On one server (or a Sentinel-found master) that is one connection with every key. On a
    /// Redis Cluster it is one connection per master serving some of the keys' slots, as the
    /// layout is known now, so a blocking multi-key read (`XREAD BLOCK` over several streams)
    /// can be split into one per node: bounded by the number of masters, not of keys. When the
    /// layout changes, a connection's next command on a key that moved fails with a `MOVED`
    /// error (``RedisError/server(_:)``); close them all and ask again. The caller closes them.
    public func makeDedicatedConnections(forKeys keys: [String]) async throws -> [RedisNodeConnection] {
        guard let cluster else {
            return [RedisNodeConnection(connection: try await self.makeDedicatedConnection(), keys: keys)]
        }
        var opened: [RedisNodeConnection] = []
        do {
            for (_, nodeKeys) in try await cluster.keysByMaster(keys) {
                guard let slot = nodeKeys.first.map(RedisSlot.of) else { continue }
                let (connection, master) = try await cluster.makeDedicatedConnection(forSlot: slot)
                opened.append(RedisNodeConnection(connection: connection, keys: nodeKeys, node: master))
            }
        } catch {
            for node in opened { await node.connection.close() }
            throw error
        }
        return opened
    }

    /// The Redis Cluster's layout (which master serves which slot), or `nil` when the client
    /// does not talk to a cluster. With `refresh`, asked of the cluster now; otherwise as last
    /// learnt (learning it first if need be).
    public func clusterTopology(refresh: Bool = false) async throws -> RedisClusterTopology? {
        guard let cluster else { return nil }
        return try await cluster.topology(refresh: refresh)
    }

    /// Where each of `keys` lives: its hash slot and, on a Redis Cluster, the master serving
    /// that slot now (`nil` on one server, where every key is on it). For reports such as
    /// which master holds which shard.
    public func placement(ofKeys keys: [String]) async throws -> [RedisKeyPlacement] {
        let topology = try await self.clusterTopology()
        return keys.map { key in
            let slot = RedisSlot.of(key)
            return RedisKeyPlacement(key: key, slot: slot, node: topology?.master(forSlot: slot))
        }
    }

    /// Sends `PING`, for readiness checks.
    ///
    /// - Throws: As ``send(_:)``, or ``RedisError/unexpectedReply(_:)`` if the answer is not `PONG`.
    public func ping() async throws {
        let reply = try await self.send(RedisCommand("PING"))
        guard reply == .simpleString("PONG") else {
            throw RedisError.unexpectedReply("PING answered \(reply)")
        }
    }

    /// Closes the connections and makes every later command fail with
    /// ``RedisError/connectionClosed``. Commands still waiting fail the same way.
    public func shutdown() async {
        var wasRunning = false
        await self.sentinelWatch?.stop()
        await self.exclusive.shutdown()
        if let cluster, await cluster.shutdown() {
            wasRunning = true
        }
        for slot in self.slots where await slot.shutdown() {
            wasRunning = true
        }
        if wasRunning {
            self.logger.info("Redis client shut down")
        }
    }

    /// The connection slot of the event loop the caller runs on, or the first one.
    private func slot() -> ConnectionSlot {
        if self.slots.count > 1, let current = MultiThreadedEventLoopGroup.currentEventLoop {
            for slot in self.slots where slot.eventLoop === current {
                return slot
            }
        }
        return self.slots[0]
    }
}

/// A connection of the caller's own to one Redis node, with the keys it was opened for; see
/// ``RedisClient/makeDedicatedConnections(forKeys:)``.
public struct RedisNodeConnection: Sendable {
    /// The connection; the caller closes it.
    public let connection: RedisConnection
    /// The keys the node serves, of those asked for, in the order they were given.
    public let keys: [String]
    /// The cluster master it is connected to; `nil` outside a cluster.
    public let node: RedisEndpoint?

    /// A connection serving `keys`.
    public init(connection: RedisConnection, keys: [String], node: RedisEndpoint? = nil) {
        self.connection = connection
        self.keys = keys
        self.node = node
    }
}

/// A script's reply and how many replicas acknowledged its writes; see
/// ``RedisClient/evalScript(_:keys:arguments:waitingForReplicas:timeout:)``.
public struct RedisReplicatedReply: Sendable, Equatable {
    /// The script's reply.
    public let value: RedisValue
    /// How many replicas acknowledged the writes within the timeout (`WAIT`'s reply).
    public let replicas: Int

    /// A reply with its acknowledgement count.
    public init(value: RedisValue, replicas: Int) {
        self.value = value
        self.replicas = replicas
    }
}

/// Where one key lives; see ``RedisClient/placement(ofKeys:)``.
public struct RedisKeyPlacement: Sendable, Hashable {
    /// The key.
    public let key: String
    /// Its Redis Cluster hash slot (computed on any topology).
    public let slot: Int
    /// The master serving the slot on a Redis Cluster; `nil` on one server.
    public let node: RedisEndpoint?
}

/// One shared connection of a ``RedisClient``, with its socket on one event loop: its state
/// machine from idle through connecting, connected and backing off, to shut down.
final class ConnectionSlot: Sendable {
    let eventLoop: any EventLoop
    private let configuration: RedisConfiguration
    private let tls: Result<RedisTLS, RedisError>?
    private let watch: RedisSentinelWatch?
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    private enum State {
        /// No connection; the next command connects.
        case idle
        /// A connect is under way; everyone who needs the connection waits for this one.
        case connecting(EventLoopFuture<RedisConnection>)
        case connected(RedisConnection)
        /// The last `failedAttempts` connects failed; no new attempt before `until`.
        case backingOff(until: NIODeadline, failedAttempts: Int)
        case shutDown
    }

    private enum ConnectionAction {
        case use(RedisConnection)
        case wait(EventLoopFuture<RedisConnection>)
        case connect(EventLoopPromise<RedisConnection>, failedAttempts: Int, afterLoss: Bool)
        case fail(RedisError)
    }

    init(
        configuration: RedisConfiguration, tls: Result<RedisTLS, RedisError>?, watch: RedisSentinelWatch? = nil,
        eventLoop: any EventLoop, logger: Logger
    ) {
        self.configuration = configuration
        self.tls = tls
        self.watch = watch
        self.eventLoop = eventLoop
        self.logger = logger
        self.state = NIOLockedValueBox(.idle)
    }

    /// Closes the connection; later commands fail with ``RedisError/connectionClosed``.
    /// Returns false if it was shut down already.
    func shutdown() async -> Bool {
        let previous = self.state.withLockedValue { state in
            defer { state = .shutDown }
            return state
        }
        switch previous {
        case .connected(let connection):
            await connection.close()
        case .connecting(let future):
            // The connecting task sees `.shutDown` and closes what it got before failing this.
            _ = try? await future.get()
        case .idle, .backingOff:
            break
        case .shutDown:
            return false
        }
        return true
    }

    // MARK: Connection management

    func connection() async throws(RedisError) -> RedisConnection {
        let action = self.state.withLockedValue { state -> ConnectionAction in
            switch state {
            case .connected(let connection) where connection.isActive:
                return .use(connection)
            case .connected:
                // Lost, and the close callback has not caught up yet.
                return self.startConnecting(&state, failedAttempts: 0, afterLoss: true)
            case .idle:
                return self.startConnecting(&state, failedAttempts: 0, afterLoss: false)
            case .connecting(let future):
                return .wait(future)
            case .backingOff(let until, let failedAttempts):
                guard NIODeadline.now() >= until else { return .fail(.unavailable) }
                return self.startConnecting(&state, failedAttempts: failedAttempts, afterLoss: false)
            case .shutDown:
                return .fail(.connectionClosed)
            }
        }

        switch action {
        case .use(let connection):
            return connection
        case .wait(let future):
            do {
                return try await future.get()
            } catch let error as RedisError {
                throw error
            } catch {
                throw .connectionFailed("\(error)")
            }
        case .connect(let promise, let failedAttempts, let afterLoss):
            if afterLoss {
                self.logger.warning("lost the connection to Redis; reconnecting")
            }
            return try await self.establish(promise, failedAttempts: failedAttempts)
        case .fail(let error):
            throw error
        }
    }

    /// Moves to `.connecting`; the caller that gets `.connect` does the connecting.
    ///
    /// The connect itself starts outside the lock: a future that completes at once would run
    /// its callbacks, which take the lock, on this thread.
    private func startConnecting(_ state: inout State, failedAttempts: Int, afterLoss: Bool) -> ConnectionAction {
        let promise = self.eventLoop.makePromise(of: RedisConnection.self)
        state = .connecting(promise.futureResult)
        return .connect(promise, failedAttempts: failedAttempts, afterLoss: afterLoss)
    }

    private func establish(
        _ promise: EventLoopPromise<RedisConnection>,
        failedAttempts: Int
    ) async throws(RedisError) -> RedisConnection {
        let connection: RedisConnection
        do {
            connection = try await RedisConnection.connect(
                to: self.configuration,
                tls: self.tls?.get(),
                watch: self.watch,
                on: promise.futureResult.eventLoop,
                logger: self.logger
            )
        } catch {
            let error = error as? RedisError ?? .connectionFailed("\(error)")
            let attempts = failedAttempts + 1
            let delay = self.backoffDelay(afterFailedAttempts: attempts)
            let isBackingOff = self.state.withLockedValue { state in
                guard case .connecting = state else { return false }
                state = .backingOff(until: .now() + TimeAmount(delay), failedAttempts: attempts)
                return true
            }
            if isBackingOff {
                self.logger.warning(
                    "could not connect to Redis; backing off",
                    metadata: [
                        "error": "\(error)",
                        "redis.failedAttempts": "\(attempts)",
                        "redis.backoff": "\(delay)",
                    ]
                )
            }
            promise.fail(error)
            throw error
        }

        let isAccepted = self.state.withLockedValue { state in
            guard case .connecting = state else { return false }
            state = .connected(connection)
            return true
        }
        guard isAccepted else {
            // shutdown() ran while this was connecting.
            await connection.close()
            promise.fail(RedisError.connectionClosed)
            throw .connectionClosed
        }
        self.watchForLoss(of: connection)
        self.logger.info("connected to Redis")
        promise.succeed(connection)
        return connection
    }

    private func watchForLoss(of connection: RedisConnection) {
        // Holds the channel, not the connection: the channel keeps this callback until it
        // closes, and a strong reference to the connection would keep that alive too.
        let channel = connection.channel
        channel.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            let isLost = self.state.withLockedValue { state in
                guard case .connected(let current) = state, current.channel === channel else { return false }
                state = .idle
                return true
            }
            if isLost {
                self.logger.warning("lost the connection to Redis; the next command reconnects")
            }
        }
    }

    private func backoffDelay(afterFailedAttempts attempts: Int) -> Duration {
        let bounds = self.configuration.reconnectBackoff
        var delay = bounds.lowerBound
        // Bounded so a zero lower bound, which never grows, cannot make this loop long.
        for _ in 1..<min(max(attempts, 1), 64) where delay < bounds.upperBound {
            delay *= 2
        }
        return min(delay, bounds.upperBound)
    }
}
