public import HallpassRedis

/// What a security write waits for before the store reports it done (CONTRACT section 5,
/// "Durability"): revocations, forced logouts, session ends, user disables, password and
/// policy changes, client removals, and signing-key rotations and withdrawals.
///
/// Redis replicates asynchronously, so a write its master acknowledged can vanish in a
/// failover; `WAIT` after the write closes that window: once `replicas` replicas have it, a
/// promoted replica has it too. On one server nothing can be waited for, and the server's
/// append-only file must be fsynced before it replies (`appendfsync always`), which
/// ``HallpassStore/persistenceReports()`` checks.
public struct StoreDurability: Sendable, Hashable, CustomStringConvertible {
    /// How many replicas must acknowledge a security write; 0 waits for none.
    public var replicas: Int
    /// The longest a security write waits for them. When fewer acknowledge in time the write
    /// stays made on the master, and the store throws ``StoreError/notDurable(acknowledged:required:)``:
    /// the caller must not report it done, and may retry it.
    public var timeout: Duration

    /// A policy waiting for `replicas` replicas, at most `timeout` (default 1 s).
    public init(replicas: Int, timeout: Duration = .seconds(1)) {
        self.replicas = max(replicas, 0)
        self.timeout = timeout
    }

    /// No waiting: one server, whose AOF carries durability, or an explicit opt-out.
    public static let local = StoreDurability(replicas: 0)

    /// The default for a topology: one replica with Sentinel or Cluster (a failover then
    /// promotes a replica that has every acknowledged security write, if it promotes the most
    /// up-to-date one, as Sentinel and Cluster do), none on one server.
    public static func `default`(for topology: RedisTopology) -> StoreDurability {
        switch topology {
        case .server: .local
        case .sentinel, .cluster: StoreDurability(replicas: 1)
        }
    }

    public var description: String {
        replicas == 0 ? "no replica acknowledgement" : "\(replicas) replica(s) within \(timeout)"
    }
}
