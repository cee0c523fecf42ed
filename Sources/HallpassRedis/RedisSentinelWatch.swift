import Logging
import NIOCore
import Synchronization

/// Keeps a ``RedisClient``'s connections on the master the Sentinels name.
///
/// After a failover the old master goes on accepting connections and writes until the Sentinels
/// reconfigure it, which they do on their next look at it (every ten seconds); a write it takes
/// meanwhile is discarded when it becomes a replica. Redis's Sentinel client guidelines have
/// clients listen for `+switch-master`; this watch asks instead: one connection to one Sentinel
/// (the next one when it fails), `SENTINEL get-master-addr-by-name` every ``interval``, a few
/// bytes each. Asking needs no publish/subscribe mode in the connection, and it also catches a
/// switch announced while the watch was reconnecting, which a subscription would miss.
///
/// Every connection to a master found through the Sentinels is registered here; when the
/// Sentinels name another master, the connections to any other address are closed. Commands
/// waiting on them fail with ``RedisError/connectionClosed``, and the next command reconnects,
/// which resolves the master again (and confirms it with `ROLE`). A connection leaves the
/// registry when it closes, whoever closed it.
final class RedisSentinelWatch: Sendable {
    /// How often the Sentinels are asked.
    static let interval: Duration = .milliseconds(200)

    private let service: String
    private let sentinels: [RedisEndpoint]
    private let configuration: RedisConfiguration
    private let tls: Result<RedisTLS, RedisError>?
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let state = Mutex<State>(State())

    private struct State {
        /// The open connections to masters, with the master each one reached.
        var connections: [ObjectIdentifier: (connection: RedisConnection, master: RedisEndpoint)] = [:]
        /// The asking loop, started by the first registration.
        var task: Task<Void, Never>?
        var isStopped = false
    }

    init(
        service: String, sentinels: [RedisEndpoint], configuration: RedisConfiguration, tls: Result<RedisTLS, RedisError>?,
        eventLoop: any EventLoop, logger: Logger
    ) {
        self.service = service
        self.sentinels = sentinels
        self.configuration = configuration
        self.tls = tls
        self.eventLoop = eventLoop
        self.logger = logger
    }

    /// Watches `connection`, which reached `master`; starts asking the Sentinels if not yet.
    func register(_ connection: RedisConnection, master: RedisEndpoint) {
        let id = ObjectIdentifier(connection)
        let accepted = state.withLock { state -> Bool in
            guard !state.isStopped else { return false }
            state.connections[id] = (connection, master)
            if state.task == nil {
                state.task = Task { await self.run() }
            }
            return true
        }
        guard accepted else { return }
        connection.channel.closeFuture.whenComplete { _ in
            _ = self.state.withLock { $0.connections.removeValue(forKey: id) }
        }
    }

    /// Stops asking. Registered connections stay open (their owners close them).
    func stop() async {
        let task = state.withLock { state -> Task<Void, Never>? in
            state.isStopped = true
            defer { state.task = nil }
            return state.task
        }
        task?.cancel()
        await task?.value
    }

    private func run() async {
        var connection: RedisConnection?
        var next = 0
        var failures = 0
        while !Task.isCancelled {
            do {
                let asking: RedisConnection
                if let open = connection, open.isActive {
                    asking = open
                } else {
                    let sentinel = sentinels[next % sentinels.count]
                    asking = try await RedisSentinel.connect(
                        toSentinel: sentinel, configuration: configuration, tls: try tls?.get(),
                        timeout: configuration.connectTimeout, on: eventLoop, logger: logger)
                    connection = asking
                }
                let reply = try await asking.send(RedisCommand("SENTINEL", "get-master-addr-by-name", service))
                failures = 0
                if let master = RedisSentinel.masterAddress(in: reply) {
                    await closeConnections(notTo: master)
                }
            } catch {
                await connection?.close()
                connection = nil
                next += 1
                failures += 1
                // Each Sentinel in turn; after a round with none answering, only quietly.
                if failures == sentinels.count {
                    logger.warning("no Sentinel answers; connections follow a failover only on READONLY until one does", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: Self.interval)
        }
        await connection?.close()
    }

    private func closeConnections(notTo master: RedisEndpoint) async {
        let stale = state.withLock { state in
            state.connections.values.filter { $0.master != master }
        }
        guard !stale.isEmpty else { return }
        logger.notice(
            "the Sentinels name a new master; closing the connections to the old one",
            metadata: ["redis.service": "\(service)", "redis.master": "\(master)", "redis.connections": "\(stale.count)"])
        for entry in stale {
            await entry.connection.close()
        }
    }
}
