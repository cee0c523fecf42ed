import Foundation

/// The Redis deployments Hallpass supports, as a test argument: a suite written once runs on
/// each with `@Test(arguments: RedisTopologyUnderTest.underTest)` and ``withRedisTopology(_:_:)``.
///
/// The three differ where the store could go wrong: a Sentinel client finds its master by
/// asking a Sentinel (and must keep talking to that master), and a cluster client must send
/// each command and script to the master of its keys' slot, with the store's 17 hash tags
/// spread over three masters. Every topology is started fresh for one test and stopped after.
public enum RedisTopologyUnderTest: String, CaseIterable, Sendable, CustomStringConvertible {
    /// One `redis-server`: `redis://`.
    case single
    /// A master, one replica in sync with it and one Sentinel that knows both:
    /// `redis+sentinel://…/mymaster`.
    case sentinel
    /// Three masters, no replicas (a replica would add a process per master to every test
    /// and nothing the store's commands see): `redis+cluster://`.
    case cluster

    /// The topologies parametrized tests run on: `HALLPASS_TEST_TOPOLOGIES` (comma-separated
    /// names), or all three. `ops/test` runs the single server with the other tests and the
    /// Sentinel and cluster cases in a pass of their own, where their many processes cannot
    /// starve the rest.
    public static var underTest: [RedisTopologyUnderTest] {
        guard let list = ProcessInfo.processInfo.environment["HALLPASS_TEST_TOPOLOGIES"], !list.isEmpty else { return allCases }
        return list.split(separator: ",").compactMap { RedisTopologyUnderTest(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
    }

    public var description: String {
        switch self {
        case .single: "single redis-server"
        case .sentinel: "Sentinel (master, replica, one Sentinel)"
        case .cluster: "three-master cluster"
        }
    }
}

/// A running topology: the URL a client (store, hub, validator, CLI) is given, and the
/// processes behind it for a test that must look underneath (a raw command on one node).
///
/// Start one with ``withRedisTopology(_:_:)``, which always stops it; or, for a fixture with a
/// start/stop lifecycle of its own, ``start(_:)`` and then ``stop()``.
public final class TopologyFixture: Sendable {
    public let topology: RedisTopologyUnderTest
    /// What a Hallpass client is configured with: `redis://` (single), `redis+sentinel://`
    /// (sentinel) or `redis+cluster://` (cluster).
    public let url: String
    /// A server to talk to directly: the single server, the Sentinel deployment's master or
    /// the cluster's first master. On a cluster it holds only the keys of its own slots.
    public let server: RedisTestServer
    /// The Sentinel deployment's replica.
    public let replica: RedisTestServer?
    /// The Sentinel of the Sentinel deployment.
    public let sentinel: RedisSentinelTestServer?
    /// The cluster, with every node.
    public let cluster: RedisClusterTestServer?

    /// Every server that holds data written through ``url``: the single server, the Sentinel
    /// deployment's master, the cluster's three masters. A keyless command (`KEYS hp:*`,
    /// `DBSIZE`) sees everything only when sent to each.
    public var masters: [RedisTestServer] { cluster?.nodes ?? [server] }

    /// The replicas each master has, which is what security writes can wait for
    /// (`--durable-replicas`): one for the Sentinel deployment (its default), none for the
    /// single server and for the test cluster, which has no replicas and so must say 0: a
    /// hub or CLI left at a cluster's default (1) would answer every revocation 503 there.
    public var durableReplicas: Int { topology == .sentinel ? 1 : 0 }

    private init(
        topology: RedisTopologyUnderTest, url: String, server: RedisTestServer, replica: RedisTestServer? = nil,
        sentinel: RedisSentinelTestServer? = nil, cluster: RedisClusterTestServer? = nil
    ) {
        self.topology = topology
        self.url = url
        self.server = server
        self.replica = replica
        self.sentinel = sentinel
        self.cluster = cluster
    }

    /// Starts `topology` and returns once a client can use it: the single server accepts
    /// connections; the Sentinel's replica has synced and the Sentinel lists it as the master's
    /// replica; every cluster node says `cluster_state:ok` and agrees on every slot's master.
    /// Call ``stop()`` when done; a failed start stops what it had started.
    public static func start(_ topology: RedisTopologyUnderTest) async throws -> TopologyFixture {
        switch topology {
        case .single:
            let server = try await RedisTestServer.start()
            return TopologyFixture(topology: topology, url: server.url, server: server)
        case .sentinel:
            // Redis 7 waits 5 s for more replicas before a diskless full sync; one replica is all
            // there will be, and the wait was most of this topology's start-up time.
            let master = try await RedisTestServer.start(arguments: ["--repl-diskless-sync-delay", "0"])
            var replica: RedisTestServer?
            do {
                let started = try await RedisTestServer.start(replicaOf: master)
                replica = started
                try await started.waitUntilReplicating(seconds: 20)
                // Started after the replica synced, so its first look at the master lists it;
                // waiting until it says so keeps a test from meeting a half-known deployment.
                let sentinel = try await RedisSentinelTestServer.start(masterPort: master.port)
                do {
                    try await sentinel.waitUntilItKnows(replicas: 1, seconds: 20)
                } catch {
                    await sentinel.stop()
                    throw error
                }
                return TopologyFixture(topology: topology, url: sentinel.url, server: master, replica: started, sentinel: sentinel)
            } catch {
                await replica?.stop()
                await master.stop()
                throw error
            }
        case .cluster:
            let cluster = try await RedisClusterTestServer.start(masters: 3, replicasPerMaster: 0)
            return TopologyFixture(topology: topology, url: cluster.url, server: cluster.nodes[0], cluster: cluster)
        }
    }

    /// Stops every process of the topology and removes their directories.
    public func stop() async {
        await sentinel?.stop()
        await replica?.stop()
        if let cluster {
            await cluster.stop()
        } else {
            await server.stop()
        }
    }
}

/// Runs `body` on a fresh `topology` (see ``TopologyFixture/start(_:)``) and stops every
/// process of it afterwards, also when `body` throws.
///
/// ```swift
/// @Test(arguments: RedisTopologyUnderTest.underTest)
/// func logout(topology: RedisTopologyUnderTest) async throws {
///     try await withRedisTopology(topology) { redis in
///         let client = try testRedisClient(url: redis.url)
///         ...
///     }
/// }
/// ```
public func withRedisTopology<Result: Sendable>(
    _ topology: RedisTopologyUnderTest, _ body: (TopologyFixture) async throws -> Result
) async throws -> Result {
    // A Sentinel setup or a cluster is three or four processes, and replicas fork for their
    // first sync: with every parametrized suite starting them at once on two cores, the other
    // tests' Redis servers starved past their command timeouts. A few at a time is enough.
    guard topology != .single else { return try await run(topology, body) }
    return try await ConcurrencyGate.topologies.withSlot { try await run(topology, body) }
}

private func run<Result: Sendable>(
    _ topology: RedisTopologyUnderTest, _ body: (TopologyFixture) async throws -> Result
) async throws -> Result {
    let fixture = try await TopologyFixture.start(topology)
    do {
        let result = try await body(fixture)
        await fixture.stop()
        return result
    } catch {
        await fixture.stop()
        throw error
    }
}

extension RedisTestServer {
    /// Starts a private server replicating `master` (`--replicaof`); ``waitUntilReplicating(seconds:)``
    /// tells when it has synced. Call ``stop()`` when done.
    public static func start(replicaOf master: RedisTestServer) async throws -> RedisTestServer {
        try await start(arguments: ["--replicaof", "127.0.0.1", "\(master.port)"])
    }

    /// Waits until this replica's link to its master is up (`master_link_status:up`), which it
    /// is once the first full sync is done.
    public func waitUntilReplicating(seconds: Double) async throws {
        let port = port
        let options = (tls.map { ["--tls", "--cacert", $0.caFile] } ?? []) + (password.map { ["--no-auth-warning", "-a", $0] } ?? [])
        try await onBlockingThread {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let info = (try? RedisClusterTestServer.redisCLI(options + ["-p", "\(port)", "INFO", "replication"])) ?? ""
                if info.contains("master_link_status:up") { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            throw TestSupportErrorBox(description: "the replica on port \(port) did not sync within \(seconds) s")
        }
    }
}

extension RedisSentinelTestServer {
    /// Waits until the Sentinel lists at least `replicas` replicas of its service
    /// (`SENTINEL REPLICAS`), so a client asking it sees the whole deployment.
    public func waitUntilItKnows(replicas: Int, seconds: Double) async throws {
        let port = port
        let service = service
        let options = tls.map { ["--tls", "--cacert", $0.caFile] } ?? []
        try await onBlockingThread {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                // redis-cli prints one field per line; each replica's entry has one "name" field.
                let listed = (try? RedisClusterTestServer.redisCLI(options + ["-p", "\(port)", "SENTINEL", "REPLICAS", service])) ?? ""
                if listed.split(separator: "\n").filter({ $0 == "name" }).count >= replicas { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            throw TestSupportErrorBox(description: "the Sentinel on port \(port) did not list \(replicas) replica(s) within \(seconds) s")
        }
    }
}
