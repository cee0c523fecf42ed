/// One Redis node's address: a server, a Sentinel or a Cluster seed.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The host name or IP address (an IPv6 address without brackets).
    public var host: String
    /// The TCP port.
    public var port: Int

    /// An endpoint at `host`:`port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// "host:port", with an IPv6 address in brackets.
    public var description: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }
}

/// How the Redis deployment a URL names is laid out, and so how a client finds the server to
/// send commands to.
public enum RedisTopology: Sendable, Hashable {
    /// One server, at ``RedisConfiguration/host`` and ``RedisConfiguration/port``
    /// (`redis://`, `rediss://`).
    case server
    /// The master of `service`, found by asking these Sentinels in turn
    /// (`redis+sentinel://`, `rediss+sentinel://`).
    case sentinel(sentinels: [RedisEndpoint], service: String)
    /// A Redis Cluster, discovered from any of these seed nodes
    /// (`redis+cluster://`, `rediss+cluster://`).
    case cluster(seeds: [RedisEndpoint])

    /// The URL scheme's name for this topology, without the TLS `s`: for messages.
    var kind: String {
        switch self {
        case .server: "a single Redis server"
        case .sentinel: "Redis Sentinel"
        case .cluster: "Redis Cluster"
        }
    }
}
