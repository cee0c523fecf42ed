import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The Redis Cluster side of a ``RedisClient``: learns which master serves which hash slot,
/// sends each command to the master of its keys' slot, and follows the cluster's redirections.
///
/// - Layout from `CLUSTER SHARDS`, asked of the known masters and then the URL's seed nodes in
///   turn; learnt before the first command, refreshed in the background every
///   ``RedisConfiguration/clusterRefreshInterval``, after a `MOVED`, `CLUSTERDOWN` or a lost
///   node.
/// - `MOVED`: the slot's new master is recorded at once and the command sent there. `ASK` (a
///   slot being migrated): `ASKING` and the command on the named node, in one write on one
///   connection, for that one command. At most ``maximumRedirects`` redirections, then
///   ``RedisError/tooManyRedirects(command:last:)``.
/// - `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, and a master that cannot be connected to (so the
///   command was never sent): retried after a backoff while the command timeout allows.
///   Like the single-server client, a command whose connection closed after it was sent is
///   not retried: it may have run.
/// - Per master, one shared connection per event loop, exactly as a single-server client
///   has (``ConnectionSlot``): connections are bounded by masters × event loops.
final class RedisCluster: Sendable {
    /// How many `MOVED`/`ASK` redirections one command may follow: a slot moves once per
    /// migration step, so more means the layout is changing faster than it can be followed.
    static let maximumRedirects = 5
    /// The first pause before retrying after `TRYAGAIN`, `CLUSTERDOWN`, `LOADING` or a master
    /// that cannot be reached; it doubles up to ``maximumRetryDelay``.
    static let firstRetryDelay = Duration.milliseconds(10)
    static let maximumRetryDelay = Duration.milliseconds(250)
    /// The shortest time between two layout refreshes triggered by replies (`MOVED` in a
    /// migration arrives for many commands at once; one refresh answers them all).
    static let minimumRefreshSpacing = Duration.milliseconds(100)

    let configuration: RedisConfiguration
    private let seeds: [RedisEndpoint]
    private let tls: Result<RedisTLS, RedisError>?
    private let loops: [any EventLoop]
    private let logger: Logger
    private let state: NIOLockedValueBox<State>
    /// Connections per master lent to one write at a time, for writes followed by `WAIT`.
    private let lent = RedisExclusiveConnections()

    private struct State {
        var topology: RedisClusterTopology?
        var refreshedAt: ContinuousClock.Instant?
        /// The refresh under way; everyone who needs a layout before the first one waits for it.
        var refresh: Task<RedisClusterTopology, any Error>?
        /// The connection slots of each node, one per event loop.
        var nodes: [RedisEndpoint: [ConnectionSlot]] = [:]
        var isShutDown = false
    }

    init(
        configuration: RedisConfiguration, seeds: [RedisEndpoint], tls: Result<RedisTLS, RedisError>?,
        loops: [any EventLoop], logger: Logger
    ) {
        self.configuration = configuration
        self.seeds = seeds
        self.tls = tls
        self.loops = loops
        self.logger = logger
        self.state = NIOLockedValueBox(State())
    }

    // MARK: Commands

    func send(_ command: RedisCommand) async throws(RedisError) -> RedisValue {
        let slot = try Self.slot(of: command)
        return try await self.routed(command.name, slot: slot) { connection, asking throws(RedisError) in
            try await Self.send(command, on: connection, asking: asking)
        }
    }

    func evalScript(_ script: RedisScript, evalSHA: RedisCommand, keys: [any RedisArgument]) async throws(RedisError) -> RedisValue {
        let slot = try Self.slot(ofKeys: keys.map(\.redisBytes), command: "EVALSHA")
        return try await self.routed("EVALSHA", slot: slot) { connection, asking throws(RedisError) in
            do throws(RedisError) {
                return try await Self.send(evalSHA, on: connection, asking: asking)
            } catch .server(let message) where message.hasPrefix("NOSCRIPT") {
                // Each node has its own script cache: load it on the node that runs it, in the
                // same write (and ASKING, if redirected, right before the command it is for).
                let commands = [RedisCommand("SCRIPT", "LOAD", script.source)] + (asking ? [RedisCommand("ASKING")] : []) + [evalSHA]
                let results = try await Self.pipeline(commands, on: connection)
                guard results.count == commands.count, let last = results.last else {
                    throw .unexpectedReply("\(results.count) replies to a pipeline of \(commands.count) commands")
                }
                let loaded = try results[0].get()
                guard loaded.string == script.sha1 else {
                    throw .unexpectedReply("SCRIPT LOAD returned \(loaded), expected \(script.sha1)")
                }
                return try last.get()
            }
        }
    }

    /// Runs the script on the master of its keys' slot, then `fence` and `wait` (a `WAIT`) on
    /// the same connection, one lent to this call alone: `WAIT` blocks the connection it runs on.
    func evalScript(
        _ script: RedisScript, evalSHA: RedisCommand, keys: [any RedisArgument], fenceKey: String, fence: RedisCommand,
        wait: RedisCommand
    ) async throws(RedisError) -> RedisReplicatedReply {
        let slot = try Self.slot(ofKeys: (keys + [fenceKey]).map(\.redisBytes), command: "EVALSHA")
        return try await self.routed("EVALSHA", slot: slot, exclusive: true) { connection, asking throws(RedisError) in
            try await RedisClient.evalScript(script, evalSHA: evalSHA, fence: fence, wait: wait, on: connection, asking: asking)
        }
    }

    /// Sends each master its share of `commands` in one write, all masters at once, and returns
    /// the outcomes in the caller's order. A command redirected or refused for the moment
    /// (`MOVED`, `ASK`, `TRYAGAIN`, ...) is sent again on its own, following the redirection; a
    /// command whose keys span slots fails alone with ``RedisError/crossSlot(command:slots:)``.
    ///
    /// Commands to one master keep their order; commands to different masters have none, as
    /// on any cluster.
    func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [Result<RedisValue, RedisError>] {
        guard !commands.isEmpty else { return [] }
        var results = [Result<RedisValue, RedisError>?](repeating: nil, count: commands.count)
        let topology = try await self.currentTopology()
        var groups: [RedisEndpoint: [Int]] = [:]
        var order: [RedisEndpoint] = []
        for (index, command) in commands.enumerated() {
            let node: RedisEndpoint
            do throws(RedisError) {
                node = try self.node(for: try Self.slot(of: command), in: topology)
            } catch {
                results[index] = .failure(error)
                continue
            }
            if groups[node] == nil { order.append(node) }
            groups[node, default: []].append(index)
        }

        let outcomes: [(RedisEndpoint, Result<[Result<RedisValue, RedisError>], RedisError>)]
        if order.count == 1, let node = order.first, let indices = groups[node] {
            // One master (a single-slot batch): no task group.
            outcomes = [(node, await self.pipeline(indices.map { commands[$0] }, to: node))]
        } else {
            outcomes = await withTaskGroup(of: (RedisEndpoint, Result<[Result<RedisValue, RedisError>], RedisError>).self) { group in
                for node in order {
                    let batch = (groups[node] ?? []).map { commands[$0] }
                    group.addTask { (node, await self.pipeline(batch, to: node)) }
                }
                var collected: [(RedisEndpoint, Result<[Result<RedisValue, RedisError>], RedisError>)] = []
                for await outcome in group { collected.append(outcome) }
                return collected
            }
        }

        var retries: [Int] = []
        for (node, outcome) in outcomes {
            let indices = groups[node] ?? []
            let replies = try outcome.get()
            for (index, reply) in zip(indices, replies) {
                if case .failure(.server(let message)) = reply, let redirect = Redirect(message) {
                    if case .moved(let slot, let target) = redirect {
                        self.logger.debug("cluster redirection: MOVED", metadata: ["redis.slot": "\(slot)", "redis.node": "\(target)"])
                        self.noteMoved(slot: slot, to: target)
                    }
                    retries.append(index)
                } else {
                    results[index] = reply
                }
            }
        }
        for index in retries {
            do throws(RedisError) {
                results[index] = .success(try await self.send(commands[index]))
            } catch {
                switch error {
                case .server, .crossSlot, .tooManyRedirects, .cluster:
                    results[index] = .failure(error)
                default:
                    // The connection failed: the same as a pipeline whose connection failed.
                    throw error
                }
            }
        }
        return results.map { $0 ?? .failure(.connectionClosed) }
    }

    /// One master's share of a pipeline; a master that cannot be connected to gets one more
    /// try after a refresh (nothing was sent), like a single command.
    private func pipeline(_ batch: [RedisCommand], to node: RedisEndpoint) async -> Result<[Result<RedisValue, RedisError>], RedisError> {
        do throws(RedisError) {
            let connection: RedisConnection
            do throws(RedisError) {
                connection = try await self.connection(to: node)
            } catch {
                guard Self.isNotSent(error) else { throw error }
                self.scheduleRefresh(force: true)
                // Each command goes its own way once the layout names the new master.
                var results: [Result<RedisValue, RedisError>] = []
                for command in batch {
                    do throws(RedisError) {
                        results.append(.success(try await self.send(command)))
                    } catch {
                        guard case .server = error else { throw error }
                        results.append(.failure(error))
                    }
                }
                return .success(results)
            }
            return .success(try await Self.pipeline(batch, on: connection))
        } catch {
            if !Self.isNotSent(error) { self.scheduleRefresh(force: false) }
            return .failure(error)
        }
    }

    /// Runs `operation` on a connection to the master of `slot` (any master for `nil`), following
    /// `MOVED` and `ASK` and retrying what the cluster refuses for the moment.
    ///
    /// With `exclusive`, on a connection lent to this call alone (``RedisExclusiveConnections``)
    /// rather than the master's shared one.
    private func routed<Value>(
        _ name: String,
        slot: Int?,
        exclusive: Bool = false,
        _ operation: (RedisConnection, _ asking: Bool) async throws(RedisError) -> Value
    ) async throws(RedisError) -> Value {
        let deadline = ContinuousClock.now + self.configuration.commandTimeout
        var redirects = 0
        var delay = Self.firstRetryDelay
        // Set by a redirection: the node to try next, and whether it needs ASKING first.
        var target: RedisEndpoint?
        var asking = false
        while true {
            let node: RedisEndpoint
            if let target {
                node = target
            } else {
                do throws(RedisError) {
                    node = try self.node(for: slot, in: try await self.currentTopology())
                } catch {
                    // No master for the slot: a failed master whose replica is not promoted
                    // yet. Ask again while there is time, as for CLUSTERDOWN.
                    guard case .cluster(.slotNotServed) = error, ContinuousClock.now + delay < deadline else { throw error }
                    self.scheduleRefresh(force: true)
                    try await Self.sleep(delay)
                    delay = min(delay * 2, Self.maximumRetryDelay)
                    continue
                }
            }
            let connection: RedisConnection
            do throws(RedisError) {
                if exclusive {
                    connection = try await self.lent.lease(node) { () async throws(RedisError) in
                        try await self.makeDedicatedConnection(to: node)
                    }
                } else {
                    connection = try await self.connection(to: node)
                }
            } catch {
                // Nothing was sent: the master may be gone (a failover), so ask for the layout
                // again and retry while there is time.
                guard Self.isNotSent(error), ContinuousClock.now + delay < deadline else { throw error }
                self.logger.debug(
                    "cannot reach a cluster master; refreshing the layout",
                    metadata: ["redis.node": "\(node)", "error": "\(error)"])
                self.scheduleRefresh(force: true)
                try await Self.sleep(delay)
                delay = min(delay * 2, Self.maximumRetryDelay)
                target = nil
                asking = false
                continue
            }
            do throws(RedisError) {
                let value = try await operation(connection, asking)
                if exclusive { await self.lent.giveBack(connection, to: node, reusable: true) }
                return value
            } catch {
                if exclusive {
                    await self.lent.giveBack(connection, to: node, reusable: RedisExclusiveConnections.leavesConnectionUsable(error))
                }
                guard case .server(let message) = error, let redirect = Redirect(message) else {
                    if case .connectionClosed = error { self.scheduleRefresh(force: false) }
                    throw error
                }
                switch redirect {
                case .moved(let movedSlot, let newNode):
                    redirects += 1
                    guard redirects <= Self.maximumRedirects else { throw .tooManyRedirects(command: name, last: message) }
                    self.logger.debug("cluster redirection: MOVED", metadata: ["redis.slot": "\(movedSlot)", "redis.node": "\(newNode)"])
                    self.noteMoved(slot: movedSlot, to: newNode)
                    target = newNode
                    asking = false
                case .ask(let newNode):
                    redirects += 1
                    guard redirects <= Self.maximumRedirects else { throw .tooManyRedirects(command: name, last: message) }
                    self.logger.debug("cluster redirection: ASK", metadata: ["redis.node": "\(newNode)"])
                    target = newNode
                    asking = true
                case .retryLater(let isClusterDown):
                    guard ContinuousClock.now + delay < deadline else { throw .tooManyRedirects(command: name, last: message) }
                    if isClusterDown { self.scheduleRefresh(force: true) }
                    try await Self.sleep(delay)
                    delay = min(delay * 2, Self.maximumRetryDelay)
                    target = nil
                    asking = false
                    // The retry starts over at the slot's owner, bounded by the deadline. A
                    // multi-key command on a slot in migration is sent ASK by the source and
                    // refused TRYAGAIN by the target until the migration ends; counting those
                    // ASKs as redirections failed it after five rounds (~0.3 s).
                    redirects = 0
                }
            }
        }
    }

    // MARK: Dedicated connections

    /// A new connection to the master serving `slot` (any master for `nil`), for the caller alone.
    func makeDedicatedConnection(forSlot slot: Int?) async throws(RedisError) -> (RedisConnection, RedisEndpoint) {
        let node = try self.node(for: slot, in: try await self.currentTopology())
        return (try await self.makeDedicatedConnection(to: node), node)
    }

    private func makeDedicatedConnection(to node: RedisEndpoint) async throws(RedisError) -> RedisConnection {
        do {
            return try await RedisConnection.connectServer(
                to: self.nodeConfiguration(node), tls: self.tls(for: node), on: self.loops[Int.random(in: 0..<self.loops.count)],
                logger: self.logger, closesOnRoleChange: false)
        } catch {
            self.scheduleRefresh(force: true)
            throw error as? RedisError ?? .connectionFailed("\(node): \(error)")
        }
    }

    /// `keys` grouped by the master serving them, in the layout as now known.
    func keysByMaster(_ keys: [String]) async throws(RedisError) -> [(RedisEndpoint, [String])] {
        let topology = try await self.currentTopology()
        var groups: [RedisEndpoint: [String]] = [:]
        var order: [RedisEndpoint] = []
        for key in keys {
            let node = try self.node(for: RedisSlot.of(key), in: topology)
            if groups[node] == nil { order.append(node) }
            groups[node, default: []].append(key)
        }
        return order.map { ($0, groups[$0] ?? []) }
    }

    /// The layout, learnt first if need be; refreshed from the cluster when `refresh` is set.
    func topology(refresh: Bool) async throws(RedisError) -> RedisClusterTopology {
        if refresh { self.scheduleRefresh(force: true) }
        return try await self.currentTopology(waitForRefresh: refresh)
    }

    // MARK: Shutting down

    func shutdown() async -> Bool {
        let (slots, refresh, wasRunning) = self.state.withLockedValue { state in
            defer {
                state.isShutDown = true
                state.refresh = nil
            }
            return (state.nodes.values.flatMap { $0 }, state.refresh, !state.isShutDown)
        }
        refresh?.cancel()
        await self.lent.shutdown()
        for slot in slots {
            _ = await slot.shutdown()
        }
        return wasRunning
    }

    // MARK: Layout

    /// The layout to route by: the current one (starting a background refresh when it is
    /// older than the refresh interval), or the first one, waited for.
    private func currentTopology(waitForRefresh: Bool = false) async throws(RedisError) -> RedisClusterTopology {
        enum Action {
            case use(RedisClusterTopology)
            case wait(Task<RedisClusterTopology, any Error>)
            case fail(RedisError)
        }
        let now = ContinuousClock.now
        let interval = self.configuration.clusterRefreshInterval
        let action = self.state.withLockedValue { state -> Action in
            if state.isShutDown { return .fail(.connectionClosed) }
            if let topology = state.topology, !(waitForRefresh && state.refresh != nil) {
                if let refreshedAt = state.refreshedAt, now - refreshedAt > interval, state.refresh == nil {
                    state.refresh = self.makeRefreshTask()
                }
                return .use(topology)
            }
            if let refresh = state.refresh { return .wait(refresh) }
            let refresh = self.makeRefreshTask()
            state.refresh = refresh
            return .wait(refresh)
        }
        switch action {
        case .use(let topology):
            return topology
        case .fail(let error):
            throw error
        case .wait(let task):
            do {
                return try await task.value
            } catch let error as RedisError {
                throw error
            } catch {
                throw .connectionClosed
            }
        }
    }

    /// Starts a refresh unless one is under way (or, without `force`, one finished less than
    /// ``minimumRefreshSpacing`` ago).
    private func scheduleRefresh(force: Bool) {
        let now = ContinuousClock.now
        self.state.withLockedValue { state in
            guard !state.isShutDown, state.refresh == nil else { return }
            if !force, let refreshedAt = state.refreshedAt, now - refreshedAt < Self.minimumRefreshSpacing { return }
            state.refresh = self.makeRefreshTask()
        }
    }

    /// A task that learns the layout and installs it. Called under the state lock: the task
    /// only starts running once the lock is released.
    private func makeRefreshTask() -> Task<RedisClusterTopology, any Error> {
        Task {
            do {
                let topology = try await self.discover()
                self.state.withLockedValue { state in
                    state.topology = topology
                    state.refreshedAt = .now
                    state.refresh = nil
                }
                return topology
            } catch {
                // Back to the old layout (or none); the next command or MOVED tries again.
                self.state.withLockedValue { state in
                    state.refresh = nil
                    state.refreshedAt = .now
                }
                throw error
            }
        }
    }

    /// Asks the known masters, then the seeds, in turn for `CLUSTER SHARDS`.
    private func discover() async throws(RedisError) -> RedisClusterTopology {
        let known = self.state.withLockedValue { $0.topology?.masters ?? [] }
        var candidates: [RedisEndpoint] = []
        for node in known + self.seeds where !candidates.contains(node) {
            candidates.append(node)
        }
        var reasons: [String] = []
        for node in candidates {
            do throws(RedisError) {
                let reply = try await Self.send(RedisCommand("CLUSTER", "SHARDS"), on: self.connection(to: node), asking: false)
                let topology = try RedisClusterTopology(shards: reply, tls: self.configuration.tls != nil)
                if topology.unservedSlotCount > 0 {
                    // A node that has not heard of a failover yet may list a failed master's
                    // slots as unserved; another node may know better.
                    reasons.append("\(node): \(topology.unservedSlotCount) slots unserved")
                    if node == candidates.last { return topology }
                    continue
                }
                self.logger.debug("cluster layout learnt", metadata: ["redis.node": "\(node)", "redis.masters": "\(topology.masters)"])
                return topology
            } catch {
                if case .server(let message) = error, message.hasPrefix("NOPERM") {
                    // A least-privilege ACL user: say which permission is missing.
                    reasons.append("\(node): the ACL user may not run CLUSTER SHARDS (add +cluster|shards, and +asking for migrations)")
                } else {
                    reasons.append("\(node): \(error)")
                }
            }
        }
        self.logger.warning("could not learn the Redis Cluster layout", metadata: ["reasons": "\(reasons)"])
        throw .cluster(.noNodeReachable(reasons: reasons))
    }

    /// Records a `MOVED` at once, so the next command for the slot goes straight there, and
    /// refreshes the rest of the layout in the background.
    private func noteMoved(slot: Int, to node: RedisEndpoint) {
        self.state.withLockedValue { state in
            state.topology?.assign(slot: slot, to: node)
        }
        self.scheduleRefresh(force: false)
    }

    private func node(for slot: Int?, in topology: RedisClusterTopology) throws(RedisError) -> RedisEndpoint {
        guard let slot else {
            // Keyless: any master does. The first is as good as any and keeps such commands
            // (PING, SCRIPT LOAD) on a connection that is open already.
            guard let first = topology.masters.first else { throw .cluster(.malformedLayout("no masters")) }
            return first
        }
        guard let node = topology.master(forSlot: slot) else {
            // A failed master whose replica is not promoted yet. Every caller learns of the
            // promotion from the next layout, so ask for it now: dedicated connections (the
            // validator's tail) otherwise waited for the periodic refresh, up to 5 s more.
            self.scheduleRefresh(force: false)
            throw .cluster(.slotNotServed(slot))
        }
        return node
    }

    // MARK: Connections

    private func connection(to node: RedisEndpoint) async throws(RedisError) -> RedisConnection {
        try await self.slots(of: node)[self.loopIndex()].connection()
    }

    private func slots(of node: RedisEndpoint) throws(RedisError) -> [ConnectionSlot] {
        let slots = self.state.withLockedValue { state -> [ConnectionSlot]? in
            guard !state.isShutDown else { return nil }
            if let slots = state.nodes[node] { return slots }
            let configuration = self.nodeConfiguration(node)
            let tls = self.tls.map { $0.map { $0.retargeted(to: node.host) } }
            var logger = self.logger
            logger[metadataKey: "redis.address"] = "\(node)"
            let slots = self.loops.map { ConnectionSlot(configuration: configuration, tls: tls, eventLoop: $0, logger: logger) }
            state.nodes[node] = slots
            return slots
        }
        guard let slots else { throw .connectionClosed }
        return slots
    }

    /// The index of the caller's event loop among the client's, or 0 off any of them.
    private func loopIndex() -> Int {
        if self.loops.count > 1, let current = MultiThreadedEventLoopGroup.currentEventLoop {
            for (index, loop) in self.loops.enumerated() where loop === current {
                return index
            }
        }
        return 0
    }

    private func nodeConfiguration(_ node: RedisEndpoint) -> RedisConfiguration {
        var configuration = self.configuration
        configuration.topology = .server
        configuration.host = node.host
        configuration.port = node.port
        return configuration
    }

    private func tls(for node: RedisEndpoint) throws(RedisError) -> RedisTLS? {
        switch self.tls {
        case nil: return nil
        case .success(let tls): return tls.retargeted(to: node.host)
        case .failure(let error): throw error
        }
    }

    // MARK: Helpers

    /// The slot of `command`'s keys; `nil` for a keyless command.
    static func slot(of command: RedisCommand) throws(RedisError) -> Int? {
        if let slot = Self.taggedPatternSlot(command) { return slot }
        return try Self.slot(ofKeys: RedisCommandKeys.keys(of: command), command: command.name)
    }

    /// `KEYS pattern` names no key, but a pattern with a literal hash tag (`hp:{hg}:*`) can
    /// only match keys of that tag's slot: sent to that slot's master it lists them all, where
    /// any other master would list none.
    private static func taggedPatternSlot(_ command: RedisCommand) -> Int? {
        guard command.arguments.count == 2, command.arguments[0].count == 4,
            String(decoding: command.arguments[0], as: UTF8.self).uppercased() == "KEYS"
        else { return nil }
        let pattern = command.arguments[1]
        let tag = RedisSlot.hashedPart(of: pattern)
        // No tag (the whole pattern came back), or one with glob characters in it: any slot.
        guard tag.count < pattern.count,
            !tag.contains(where: { [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "\\")].contains($0) }),
            let open = pattern.firstIndex(of: UInt8(ascii: "{")),
            !pattern[..<open].contains(where: { [UInt8(ascii: "*"), UInt8(ascii: "?"), UInt8(ascii: "["), UInt8(ascii: "\\")].contains($0) })
        else { return nil }
        return RedisSlot.of(tag)
    }

    static func slot(ofKeys keys: [[UInt8]], command: String) throws(RedisError) -> Int? {
        guard let first = keys.first else { return nil }
        let slot = RedisSlot.of(first)
        var others: [Int] = []
        for key in keys.dropFirst() {
            let other = RedisSlot.of(key)
            if other != slot, !others.contains(other) { others.append(other) }
        }
        guard others.isEmpty else { throw .crossSlot(command: command, slots: [slot] + others) }
        return slot
    }

    /// Sends `command`, preceded by `ASKING` in the same write when redirected by `ASK`.
    private static func send(_ command: RedisCommand, on connection: RedisConnection, asking: Bool) async throws(RedisError) -> RedisValue {
        guard asking else {
            do { return try await connection.send(command) } catch { throw error as? RedisError ?? .connectionClosed }
        }
        let results = try await Self.pipeline([RedisCommand("ASKING"), command], on: connection)
        guard results.count == 2 else { throw .unexpectedReply("\(results.count) replies to ASKING and a command") }
        return try results[1].get()
    }

    private static func pipeline(_ commands: [RedisCommand], on connection: RedisConnection) async throws(RedisError) -> [Result<RedisValue, RedisError>] {
        do { return try await connection.pipeline(commands) } catch { throw error as? RedisError ?? .connectionClosed }
    }

    /// Whether `error` means the command never left the client (so it is safe to retry).
    private static func isNotSent(_ error: RedisError) -> Bool {
        switch error {
        case .connectionFailed, .connectTimedOut, .unavailable: true
        default: false
        }
    }

    private static func sleep(_ delay: Duration) async throws(RedisError) {
        do { try await Task.sleep(for: delay) } catch { throw .connectionClosed }
    }
}

/// What a cluster error reply asks of the client.
enum Redirect: Equatable {
    /// `MOVED <slot> <host:port>`: the slot lives there now, for good.
    case moved(slot: Int, node: RedisEndpoint)
    /// `ASK <slot> <host:port>`: this one command goes there, after `ASKING`.
    case ask(node: RedisEndpoint)
    /// `TRYAGAIN`, `CLUSTERDOWN` or `LOADING`: the same command will work a little later.
    case retryLater(isClusterDown: Bool)

    init?(_ message: String) {
        let parts = message.split(separator: " ")
        guard let code = parts.first else { return nil }
        switch code {
        case "MOVED", "ASK":
            guard parts.count >= 3, let slot = Int(parts[1]), let node = Self.endpoint(parts[2]) else { return nil }
            self = code == "MOVED" ? .moved(slot: slot, node: node) : .ask(node: node)
        case "TRYAGAIN", "LOADING":
            self = .retryLater(isClusterDown: false)
        case "CLUSTERDOWN":
            self = .retryLater(isClusterDown: true)
        default:
            return nil
        }
    }

    /// `host:port`, `[v6]:port`, or `:port` (a node that does not know its own address: the
    /// one the client used, which Redis leaves to the client; unusable here, so refused).
    private static func endpoint(_ text: Substring) -> RedisEndpoint? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), port > 0 else { return nil }
        var host = text[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { return nil }
        return RedisEndpoint(host: String(host), port: port)
    }
}
