import HallpassRedis
import HallpassTestSupport
import NIOPosix
import Testing

@Suite("Redis Sentinel: finding the master and following a failover")
struct SentinelTests {
    @Test func clientWritesAndReadsThroughSentinel() async throws {
        try await withSentinelDeployment(replica: false) { master, _, sentinel in
            let client = RedisClient(configuration: try testConfiguration(url: sentinel.url), logger: quietLogger)
            defer { Task { await client.shutdown() } }
            let key = uniqueKey("sentinel")
            _ = try await client.send(RedisCommand("SET", key, "through-sentinel"))
            #expect(try await client.send(RedisCommand("GET", key)) == bulk("through-sentinel"))

            // The write landed on the master the Sentinel monitors, and a dedicated connection
            // finds the same master.
            let direct = try await RedisConnection.connect(
                to: try testConfiguration(url: master.url), on: MultiThreadedEventLoopGroup.singleton.next(),
                logger: quietLogger)
            #expect(try await direct.send(RedisCommand("GET", key)) == bulk("through-sentinel"))
            await direct.close()
            let dedicated = try await client.makeDedicatedConnection()
            #expect(try await dedicated.send(RedisCommand("ROLE")).array?.first == bulk("master"))
            await dedicated.close()
        }
    }

    @Test func unknownServiceFailsWithAClearError() async throws {
        try await withSentinelDeployment(replica: false) { _, _, sentinel in
            let url = "redis+sentinel://127.0.0.1:\(sentinel.port)/no-such-service"
            let client = RedisClient(configuration: try testConfiguration(url: url), logger: quietLogger)
            defer { Task { await client.shutdown() } }
            let error = try await #require(throws: RedisError.self) { try await client.ping() }
            #expect(error == .sentinel(.unknownService("no-such-service")))
            #expect(error.description.contains("no-such-service") && !error.description.contains("\n"), "\(error)")
        }
    }

    @Test func readOnlyReplyClosesTheConnectionSoTheNextCommandResolvesAgain() async throws {
        try await withSentinelDeployment(replica: false) { master, _, sentinel in
            let client = RedisClient(configuration: try testConfiguration(url: sentinel.url), logger: quietLogger)
            defer { Task { await client.shutdown() } }
            let connection = try await client.makeDedicatedConnection()
            let direct = try await RedisConnection.connect(
                to: try testConfiguration(url: master.url), on: MultiThreadedEventLoopGroup.singleton.next(),
                logger: quietLogger)
            // Demoted to a replica of nothing: read-only, as after a failover.
            _ = try await direct.send(RedisCommand("REPLICAOF", "127.0.0.1", "\(try freeLoopbackPort())"))
            await direct.close()

            let error = try await #require(throws: RedisError.self) {
                try await connection.send(RedisCommand("SET", uniqueKey("readonly"), "x"))
            }
            guard case .server(let message) = error else {
                Issue.record("expected the READONLY reply, got \(error)")
                return
            }
            #expect(message.hasPrefix("READONLY"))
            #expect(!connection.isActive)
        }
    }

    @Test func sentinelPasswordAuthenticatesToTheSentinels() async throws {
        try await withSentinelDeployment(replica: false) { master, _, _ in
            let sentinel = try await RedisSentinelTestServer.start(masterPort: master.port, password: "sentinel-secret")
            do {
                var configuration = try testConfiguration(url: sentinel.url)
                configuration.sentinelPassword = "sentinel-secret"
                let connection = try await RedisConnection.connect(
                    to: configuration, on: MultiThreadedEventLoopGroup.singleton.next(), logger: quietLogger)
                #expect(try await connection.send(RedisCommand("PING")) == .simpleString("PONG"))
                await connection.close()

                configuration.sentinelPassword = nil
                let error = try await #require(throws: RedisError.self) {
                    _ = try await RedisConnection.connect(
                        to: configuration, on: MultiThreadedEventLoopGroup.singleton.next(), logger: quietLogger)
                }
                guard case .sentinel(.noSentinelReachable(_, let reasons)) = error else {
                    Issue.record("expected noSentinelReachable, got \(error)")
                    await sentinel.stop()
                    return
                }
                #expect(reasons.count == 1 && reasons[0].contains("NOAUTH"), "\(reasons)")
                #expect(!error.description.contains("sentinel-secret"))
            } catch {
                await sentinel.stop()
                throw error
            }
            await sentinel.stop()
        }
    }

    @Test func noReachableSentinelIsItsOwnError() async throws {
        let port = try freeLoopbackPort()
        var configuration = try RedisConfiguration(url: "redis+sentinel://127.0.0.1:\(port)/mymaster")
        configuration.connectTimeout = .seconds(5)
        let error = try await #require(throws: RedisError.self) {
            _ = try await RedisConnection.connect(
                to: configuration, on: MultiThreadedEventLoopGroup.singleton.next(), logger: quietLogger)
        }
        guard case .sentinel(.noSentinelReachable(let service, let reasons)) = error else {
            Issue.record("expected noSentinelReachable, got \(error)")
            return
        }
        #expect(service == "mymaster" && reasons.count == 1 && reasons[0].hasPrefix("127.0.0.1:\(port): "))
    }

    @Test func clientFollowsAFailoverToTheFormerReplica() async throws {
        try await withSentinelDeployment(replica: true) { master, replica, sentinel in
            guard let replica else { return }
            var configuration = try testConfiguration(url: sentinel.url)
            configuration.reconnectBackoff = .milliseconds(50)...(.milliseconds(500))
            let client = RedisClient(configuration: configuration, logger: quietLogger)
            defer { Task { await client.shutdown() } }
            var replicaConfiguration = try testConfiguration(url: replica.url)
            replicaConfiguration.reconnectBackoff = configuration.reconnectBackoff
            // A client, not a connection: the failover kills the promoted replica's clients.
            let onReplica = RedisClient(configuration: replicaConfiguration, logger: quietLogger)
            defer { Task { await onReplica.shutdown() } }
            let admin = try await RedisConnection.connect(
                to: try testConfiguration(url: "redis://127.0.0.1:\(sentinel.port)"),
                on: MultiThreadedEventLoopGroup.singleton.next(), logger: quietLogger)
            defer { Task { await admin.close() } }

            let key = uniqueKey("failover")
            _ = try await client.send(RedisCommand("SET", key, "before"))
            // A dedicated connection (where a validator blocks in XREAD) sits idle on the master.
            let dedicated = try await client.makeDedicatedConnection()
            defer { Task { await dedicated.close() } }
            try await waitUntil("the Sentinel to know the replica", seconds: 15) {
                !(try await admin.send(RedisCommand("SENTINEL", "REPLICAS", "mymaster")).array ?? []).isEmpty
            }
            // NOGOODSLAVE until the Sentinel has fresh INFO from the replica.
            try await waitUntil("the Sentinel to start a failover", seconds: 15, toleratingErrors: true) {
                try await admin.send(RedisCommand("SENTINEL", "FAILOVER", "mymaster")) == .simpleString("OK")
            }

            // The old master takes writes until the Sentinel demotes it on its next INFO from it
            // (every 10 s), and discards them then. The client's watch sees the Sentinel name the
            // new master within a fraction of a second of the switch and closes the connections
            // to the old one, so writes reach the new master long before that demotion (it took
            // about 11 s before the watch). The bound leaves room for a loaded machine.
            var attempt = 0
            try await waitUntil("a write through Sentinel to reach the former replica", seconds: 8, toleratingErrors: true) {
                // Until the promotion, the replica gets the old master's writes by replication.
                guard try await onReplica.send(RedisCommand("ROLE")).array?.first == bulk("master") else {
                    return false
                }
                attempt += 1
                _ = try await client.send(RedisCommand("SET", key, "after-\(attempt)"))
                return try await onReplica.send(RedisCommand("GET", key)) == bulk("after-\(attempt)")
            }
            #expect(try await client.send(RedisCommand("ROLE")).array?.first == bulk("master"))
            // The idle dedicated connection was closed too, so its owner reconnects to the new master.
            #expect(!dedicated.isActive)
            let address = try await admin.send(RedisCommand("SENTINEL", "get-master-addr-by-name", "mymaster"))
            #expect(address.array?.last?.int == Int64(replica.port))
            #expect(replica.port != master.port)
        }
    }
}

/// Runs `body` with a fresh master, optionally a replica of it (in sync before the Sentinel
/// starts, so the Sentinel's first look at the master already lists it), and a Sentinel
/// monitoring the master as `mymaster`; stops them all afterwards.
private func withSentinelDeployment(
    replica withReplica: Bool,
    _ body: (RedisTestServer, RedisTestServer?, RedisSentinelTestServer) async throws -> Void
) async throws {
    let master = try await RedisTestServer.start()
    var replica: RedisTestServer?
    var sentinel: RedisSentinelTestServer?
    do {
        if withReplica {
            let started = try await RedisTestServer.start(arguments: ["--replicaof", "127.0.0.1", "\(master.port)"])
            replica = started
            let connection = try await RedisConnection.connect(
                to: try testConfiguration(url: started.url), on: MultiThreadedEventLoopGroup.singleton.next(),
                logger: quietLogger)
            try await waitUntil("the replica to sync", seconds: 15) {
                try await connection.send(RedisCommand("INFO", "replication")).string?.contains("master_link_status:up")
                    == true
            }
            await connection.close()
        }
        sentinel = try await RedisSentinelTestServer.start(masterPort: master.port)
        if let sentinel {
            try await body(master, replica, sentinel)
        }
    } catch {
        await sentinel?.stop()
        await replica?.stop()
        await master.stop()
        throw error
    }
    await sentinel?.stop()
    await replica?.stop()
    await master.stop()
}
