import Logging
import NIOConcurrencyHelpers

/// Connections lent to one caller at a time, kept per node between loans.
///
/// For commands that hold up the connection they run on, `WAIT` above all: Redis blocks the
/// connection until the replicas acknowledge or the timeout passes, and on a shared, pipelined
/// connection every other caller's command would wait behind it. A loan takes an idle
/// connection to the node or opens a new one; the caller gives it back, and it is kept for the
/// next loan if it is still open and answered everything it was sent.
final class RedisExclusiveConnections: Sendable {
    /// A node's idle connections; the key is `nil` for the one server (or Sentinel master).
    private let idle: NIOLockedValueBox<State>
    /// How many idle connections a node keeps; more are closed when given back.
    private let idleLimit: Int

    private struct State {
        var nodes: [RedisEndpoint?: [RedisConnection]] = [:]
        var isShutDown = false
    }

    /// `idleLimit` bounds what is kept between loans, not what is lent: as many connections
    /// open as writes wait at once (the client's pending-command bound caps that). Kept high
    /// enough that a steady stream of concurrent security writes reuses its connections rather
    /// than opening and closing one per write.
    init(idleLimit: Int = 64) {
        self.idle = NIOLockedValueBox(State())
        self.idleLimit = idleLimit
    }

    /// An idle connection to `node` if there is one still open, or a new one from `connect`.
    func lease(
        _ node: RedisEndpoint?, connect: () async throws(RedisError) -> RedisConnection
    ) async throws(RedisError) -> RedisConnection {
        while true {
            let (isShutDown, candidate) = self.idle.withLockedValue { state -> (Bool, RedisConnection?) in
                guard !state.isShutDown else { return (true, nil) }
                return (false, state.nodes[node]?.popLast())
            }
            guard !isShutDown else { throw .connectionClosed }
            guard let candidate else { break }
            if candidate.isActive { return candidate }
            await candidate.close()
        }
        return try await connect()
    }

    /// Takes back a leased connection. `reusable` is false when a command on it failed without
    /// a reply (a timeout, a lost connection): its state is then unknown and it is closed.
    func giveBack(_ connection: RedisConnection, to node: RedisEndpoint?, reusable: Bool) async {
        let kept = reusable && connection.isActive && self.idle.withLockedValue { state in
            guard !state.isShutDown, state.nodes[node, default: []].count < self.idleLimit else { return false }
            state.nodes[node, default: []].append(connection)
            return true
        }
        if !kept { await connection.close() }
    }

    /// Runs `body` on a leased connection and gives it back.
    func withConnection<Value>(
        to node: RedisEndpoint?, connect: () async throws(RedisError) -> RedisConnection,
        _ body: (RedisConnection) async throws(RedisError) -> Value
    ) async throws(RedisError) -> Value {
        let connection = try await self.lease(node, connect: connect)
        do throws(RedisError) {
            let value = try await body(connection)
            await self.giveBack(connection, to: node, reusable: true)
            return value
        } catch {
            await self.giveBack(connection, to: node, reusable: Self.leavesConnectionUsable(error))
            throw error
        }
    }

    /// Whether a connection whose command failed with `error` can serve the next loan: only
    /// when the server answered (an error reply), so nothing is left in flight.
    static func leavesConnectionUsable(_ error: RedisError) -> Bool {
        if case .server = error { return true }
        return false
    }

    /// Closes every idle connection; later loans fail with ``RedisError/connectionClosed``.
    func shutdown() async {
        let connections = self.idle.withLockedValue { state in
            state.isShutDown = true
            defer { state.nodes = [:] }
            return state.nodes.values.flatMap { $0 }
        }
        for connection in connections { await connection.close() }
    }
}
