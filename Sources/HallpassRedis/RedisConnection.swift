public import Logging
public import NIOCore
import NIOConcurrencyHelpers
import NIOPosix

/// One connection to Redis, safe to share between tasks: concurrent commands are pipelined on it
/// and each caller gets its own reply.
///
/// Most code should use ``RedisClient``, which owns such a connection and reconnects it. Use a
/// connection of its own (``RedisClient/makeDedicatedConnection()``) for blocking commands such as
/// `XREAD BLOCK`, which would stall every command queued behind them.
///
/// The connection does not support `SUBSCRIBE`/`MONITOR`, whose replies are not one per command.
public final class RedisConnection: Sendable {
    let channel: any Channel
    private let outbox: NIOLockedValueBox<Outbox>
    private let commandTimeout: TimeAmount
    /// Whether the connection runs over TLS.
    private let isTLS: Bool

    /// Commands encoded by callers on any thread, waiting for the event loop to write them.
    ///
    /// Appending here and letting one scheduled drain write everything that piled up turns a
    /// burst of concurrent commands into one write, one flush and one syscall, instead of one
    /// event-loop hop and flush per command.
    private struct Outbox: Sendable {
        let allocator: ByteBufferAllocator
        var bytes: ByteBuffer
        var replies: [PendingReply] = []
        var isDrainScheduled = false

        /// Queues one encoded command; returns whether the caller must schedule a drain.
        mutating func append(_ encoded: UnsafeRawBufferPointer, reply: PendingReply) -> Bool {
            self.bytes.writeBytes(encoded)
            self.replies.append(reply)
            return self.markDrainScheduled()
        }

        /// Queues encoded commands; returns whether the caller must schedule a drain.
        mutating func append(_ encoded: ByteBuffer, replies: [PendingReply]) -> Bool {
            if self.bytes.readableBytes == 0 {
                self.bytes = encoded
            } else {
                self.bytes.writeImmutableBuffer(encoded)
            }
            self.replies.append(contentsOf: replies)
            return self.markDrainScheduled()
        }

        mutating func take() -> RedisRequestBatch {
            let batch = RedisRequestBatch(bytes: self.bytes, replies: self.replies)
            // Not `clear()`: the batch still references this storage, so the next append would
            // copy it. An empty buffer allocates nothing until written to.
            self.bytes = self.allocator.buffer(capacity: 0)
            self.replies = []
            self.isDrainScheduled = false
            return batch
        }

        private mutating func markDrainScheduled() -> Bool {
            guard !self.isDrainScheduled else { return false }
            self.isDrainScheduled = true
            return true
        }
    }

    private init(channel: any Channel, configuration: RedisConfiguration, isTLS: Bool) {
        self.channel = channel
        self.isTLS = isTLS
        self.outbox = NIOLockedValueBox(
            Outbox(allocator: channel.allocator, bytes: channel.allocator.buffer(capacity: 0))
        )
        self.commandTimeout = TimeAmount(configuration.commandTimeout)
    }

    deinit {
        // A connection dropped without `close()` would otherwise hold its socket open.
        self.channel.close(promise: nil)
    }

    /// Connects to Redis (over TLS when the configuration has ``RedisConfiguration/tls``),
    /// authenticates and selects the database. For a Sentinel topology it first asks the
    /// Sentinels for the master and checks with `ROLE` that it is one (see ``RedisSentinelFailure``).
    /// For a Cluster topology it connects to the first seed node that accepts, which answers for
    /// its own slots only (others get `MOVED`): a ``RedisClient`` routes by slot instead.
    ///
    /// Sends `AUTH` when the configuration has a password and `SELECT` when its database is not 0,
    /// pipelined; with neither, a `PING` proves the server answers. The whole handshake, TLS
    /// included, is bounded by ``RedisConfiguration/connectTimeout``.
    ///
    /// With TLS this reads the certificate files on every call; a ``RedisClient`` reads them once.
    ///
    /// - Parameters:
    ///   - configuration: Where to connect, and the timeouts to use.
    ///   - eventLoop: The event loop that will own the connection's socket.
    ///   - logger: Receives debug and warning messages about this connection.
    /// - Throws: ``RedisError/connectionFailed(_:)``, ``RedisError/connectTimedOut``,
    ///   ``RedisError/authenticationFailed(_:)``, ``RedisError/tlsHandshakeFailed(address:reason:)``,
    ///   ``RedisError/invalidTLSSetting(_:_:)`` or ``RedisError/sentinel(_:)``.
    public static func connect(
        to configuration: RedisConfiguration,
        on eventLoop: any EventLoop,
        logger: Logger
    ) async throws -> RedisConnection {
        let tls = try configuration.tls.map { tlsConfiguration throws(RedisError) in
            try RedisTLS(configuration: tlsConfiguration, host: configuration.host)
        }
        return try await Self.connect(to: configuration, tls: tls, on: eventLoop, logger: logger)
    }

    /// As the public `connect`, with the TLS context made once by the caller, and for a
    /// Sentinel's master the client's watch (which closes the connection when the master changes).
    static func connect(
        to configuration: RedisConfiguration,
        tls: RedisTLS?,
        watch: RedisSentinelWatch? = nil,
        on eventLoop: any EventLoop,
        logger: Logger
    ) async throws -> RedisConnection {
        switch configuration.topology {
        case .server:
            return try await Self.connectServer(
                to: configuration, tls: tls, on: eventLoop, logger: logger, closesOnRoleChange: false)
        case .sentinel(let sentinels, let service):
            // Resolved on every connect, so every reconnect and dedicated connection follows a
            // failover.
            return try await RedisSentinel.connectToMaster(
                service: service, sentinels: sentinels, configuration: configuration, tls: tls, watch: watch, on: eventLoop,
                logger: logger)
        case .cluster(let seeds):
            // A plain connection to one node, the first seed that accepts: it answers for its
            // own slots only (others get MOVED). A RedisClient routes by slot instead.
            var failure: any Error = RedisError.cluster(.noNodeReachable(reasons: []))
            for seed in seeds {
                var node = configuration
                node.topology = .server
                node.host = seed.host
                node.port = seed.port
                do {
                    return try await Self.connectServer(
                        to: node, tls: tls?.retargeted(to: seed.host), on: eventLoop, logger: logger, closesOnRoleChange: false)
                } catch {
                    failure = error
                }
            }
            throw failure
        }
    }

    /// Connects to the one server at the configuration's host and port, whatever its topology.
    ///
    /// With `closesOnRoleChange` (a master found through Sentinel), a `READONLY` or `UNBLOCKED`
    /// reply closes the connection, so the next command reconnects and resolves the master again.
    static func connectServer(
        to configuration: RedisConfiguration,
        tls: RedisTLS?,
        on eventLoop: any EventLoop,
        logger: Logger,
        closesOnRoleChange: Bool
    ) async throws -> RedisConnection {
        var logger = logger
        logger[metadataKey: "redis.address"] = "\(configuration.address)"
        let handlerLogger = logger
        let deadline = NIODeadline.now() + TimeAmount(configuration.connectTimeout)
        let address = configuration.address
        // Set by the channel initializer, on the event loop, before connect returns.
        let tlsHandshake = NIOLockedValueBox<EventLoopFuture<Void>?>(nil)

        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                // Lets the kernel eventually notice a peer that vanished without a FIN while the
                // connection sat idle; commands in flight are bounded by their own timeouts.
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            let handshake = try tls.addHandlers(to: channel, deadline: deadline)
                            tlsHandshake.withLockedValue { $0 = handshake }
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            RedisChannelHandler(
                                logger: handlerLogger, tlsAddress: tls == nil ? nil : address,
                                closesOnRoleChange: closesOnRoleChange))
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
                .get()
        } catch ChannelError.connectTimeout {
            throw RedisError.connectTimedOut
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError.connectionFailed("\(configuration.address): \(error)")
        }

        let connection = RedisConnection(channel: channel, configuration: configuration, isTLS: tls != nil)
        if let tls, let handshake = tlsHandshake.withLockedValue({ $0 }) {
            do {
                try await handshake.get()
            } catch let failure as TLSHandshakeFailure {
                await connection.close()
                let reason = await tls.reason(
                    for: failure, host: configuration.host, port: configuration.port, eventLoop: eventLoop,
                    deadline: deadline)
                throw RedisError.tlsHandshakeFailed(address: address, reason: reason)
            } catch {
                await connection.close()
                throw error as? RedisError ?? .connectionFailed("\(address): \(error)")
            }
        }
        do {
            try await connection.handshake(configuration, deadline: deadline)
        } catch {
            await connection.close()
            throw error
        }
        logger.debug("connected to Redis")
        return connection
    }

    private func handshake(_ configuration: RedisConfiguration, deadline: NIODeadline) async throws(RedisError) {
        var commands: [RedisCommand] = []
        if let password = configuration.password {
            if let username = configuration.username {
                commands.append(RedisCommand("AUTH", username, password))
            } else {
                commands.append(RedisCommand("AUTH", password))
            }
        }
        if configuration.database != 0 {
            commands.append(RedisCommand("SELECT", configuration.database))
        }
        // Without AUTH or SELECT nothing would show that the peer is a Redis that answers; a peer
        // that accepts but stays silent must fail here, within connectTimeout, not at first use.
        if commands.isEmpty {
            commands.append(RedisCommand("PING"))
        }

        let replies: [EventLoopFuture<RedisValue>]
        do throws(RedisError) {
            replies = try self.enqueue(commands, deadline: deadline)
        } catch .connectionClosed where self.isTLS {
            // Closed between the TLS handshake and the first command: see below.
            throw .tlsHandshakeFailed(address: configuration.address, reason: .closedAfterHandshake)
        }
        for (command, future) in zip(commands, replies) {
            let reply: RedisValue
            do throws(RedisError) {
                reply = try await Self.reply(from: future)
            } catch .commandTimedOut {
                throw .connectTimedOut
            } catch .protocolError(let detail) {
                throw .connectionFailed("\(configuration.address) does not speak RESP: \(detail)")
            } catch .tlsHandshakeFailed(let address, let reason) {
                // TLS 1.3 servers refuse a client certificate after the client's side of the
                // handshake is done, so the refusal arrives here, with the first reply.
                throw .tlsHandshakeFailed(address: address, reason: reason)
            } catch .connectionClosed where self.isTLS {
                // The same refusal, when the server's reset overtook its alert.
                throw .tlsHandshakeFailed(address: configuration.address, reason: .closedAfterHandshake)
            } catch {
                throw .connectionFailed("\(configuration.address) closed the connection during the handshake")
            }
            guard case .error(let message) = reply else { continue }
            if command.name == "AUTH" || message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") {
                throw .authenticationFailed(message)
            }
            throw .connectionFailed("\(command.name) failed: \(message)")
        }
    }

    /// Whether the socket is still open. A closed connection stays closed; make a new one.
    public var isActive: Bool {
        self.channel.isActive
    }

    /// Sends `command` and waits up to ``RedisConfiguration/commandTimeout`` for its reply.
    ///
    /// Cancelling the calling task does not withdraw the command: it has been sent (or is about
    /// to be), and its reply must still be consumed to keep the connection in step.
    ///
    /// - Returns: The reply; never ``RedisValue/error(_:)``.
    /// - Throws: ``RedisError/server(_:)`` for an error reply, or ``RedisError/commandTimedOut``,
    ///   ``RedisError/connectionClosed`` or ``RedisError/protocolError(_:)``.
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        try await self.send(command, deadline: .now() + self.commandTimeout)
    }

    /// Sends `command` and waits up to `timeout` for its reply: for blocking commands such as
    /// `XREAD BLOCK 5000`, give a timeout longer than the command's own.
    ///
    /// - Throws: As ``send(_:)``.
    public func send(_ command: RedisCommand, timeout: Duration) async throws -> RedisValue {
        try await self.send(command, deadline: .now() + TimeAmount(timeout))
    }

    private func send(_ command: RedisCommand, deadline: NIODeadline) async throws(RedisError) -> RedisValue {
        let reply = try await Self.reply(from: self.enqueue(command, deadline: deadline))
        if case .error(let message) = reply {
            throw .server(message)
        }
        return reply
    }

    /// Sends `commands` in one write and returns each command's outcome, in order.
    ///
    /// All commands share one ``RedisConfiguration/commandTimeout``, counted from the call.
    ///
    /// - Returns: One result per command: the reply, or ``RedisError/server(_:)`` for an error reply.
    /// - Throws: Only when the connection fails before every reply arrived
    ///   (``RedisError/connectionClosed``, ``RedisError/commandTimedOut``,
    ///   ``RedisError/protocolError(_:)``); commands before the failure may have run.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [Result<RedisValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        let replies = try self.enqueue(commands, deadline: .now() + self.commandTimeout)
        // One future for the lot: awaiting each of thousands of replies would suspend and resume
        // this task once per reply.
        let outcomes: [Result<RedisValue, any Error>]
        do {
            outcomes = try await EventLoopFuture.whenAllComplete(replies, on: self.channel.eventLoop).get()
        } catch {
            throw RedisError.connectionClosed
        }
        return try outcomes.map { outcome throws(RedisError) -> Result<RedisValue, RedisError> in
            switch outcome {
            case .success(.error(let message)): .failure(.server(message))
            case .success(let value): .success(value)
            case .failure(let error): throw error as? RedisError ?? .connectionClosed
            }
        }
    }

    /// Closes the connection. Commands still waiting fail with ``RedisError/connectionClosed``.
    public func close() async {
        self.channel.close(promise: nil)
        // The close future only ever succeeds.
        try? await self.channel.closeFuture.get()
    }

    // MARK: Queueing

    func enqueue(_ command: RedisCommand, deadline: NIODeadline) -> EventLoopFuture<RedisValue> {
        let promise = self.channel.eventLoop.makePromise(of: RedisValue.self)
        guard self.channel.isActive else {
            promise.fail(RedisError.connectionClosed)
            return promise.futureResult
        }
        let reply = PendingReply(promise: promise, deadline: deadline)
        do throws(RedisError) {
            let mustDrain = try RESPEncoder.withEncodedBytes(of: command) { encoded in
                self.outbox.withLockedValue { $0.append(encoded, reply: reply) }
            }
            if mustDrain {
                self.scheduleDrain()
            }
        } catch {
            promise.fail(error)
        }
        return promise.futureResult
    }

    func enqueue(
        _ commands: [RedisCommand],
        deadline: NIODeadline
    ) throws(RedisError) -> [EventLoopFuture<RedisValue>] {
        guard self.channel.isActive else { throw .connectionClosed }
        // Encode everything before making promises, so a command that cannot be encoded leaves
        // no promise behind unfulfilled.
        var bytes = self.channel.allocator.buffer(capacity: commands.count * 32)
        for command in commands {
            try RESPEncoder.encode(command, into: &bytes)
        }
        var replies: [PendingReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            replies.append(PendingReply(promise: self.channel.eventLoop.makePromise(), deadline: deadline))
        }
        let mustDrain = self.outbox.withLockedValue { $0.append(bytes, replies: replies) }
        if mustDrain {
            self.scheduleDrain()
        }
        return replies.map { $0.promise.futureResult }
    }

    private func scheduleDrain() {
        self.channel.eventLoop.execute {
            self.drain()
        }
    }

    private func drain() {
        let batch = self.outbox.withLockedValue { $0.take() }
        guard !batch.replies.isEmpty else { return }
        let replies = batch.replies
        self.channel.writeAndFlush(batch).whenFailure { _ in
            // The handler fails whatever it has queued when the channel closes. This catches the
            // batches it never saw, written after it left the pipeline; failing a promise that
            // is already complete does nothing.
            for reply in replies {
                reply.promise.fail(RedisError.connectionClosed)
            }
        }
    }

    static func reply(from future: EventLoopFuture<RedisValue>) async throws(RedisError) -> RedisValue {
        do {
            return try await future.get()
        } catch let error as RedisError {
            throw error
        } catch {
            // Reply promises are only ever failed with a RedisError.
            throw .connectionClosed
        }
    }
}
