import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

/// `persistenceReports()`, what the hub logs at every start: whether each Redis master can keep
/// an acknowledged security write (CONTRACT section 5).
@Suite("What Redis promises about acknowledged writes")
struct PersistenceReportTests {
    func report(_ server: RedisTestServer, durability: StoreDurability) async throws -> PersistenceReport {
        let client = try testRedisClient(url: server.url)
        defer { Task { await client.shutdown() } }
        let reports = try await HallpassStore(redis: client, durability: durability).persistenceReports()
        #expect(reports.count == 1 && reports.first?.node == nil, "one server, one report: \(reports)")
        return try #require(reports.first)
    }

    @Test("one server: no warning with appendfsync always; a plain warning without the append-only file")
    func fsyncBeforeTheReply() async throws {
        let durable = try await RedisTestServer.start(durable: true)
        let volatile = try await RedisTestServer.start()
        do {
            let kept = try await report(durable, durability: .local)
            #expect(kept.appendOnly == "yes" && kept.appendFsync == "always")
            #expect(kept.warnings.isEmpty, "\(kept.warnings)")
            let lost = try await report(volatile, durability: .local)
            #expect(lost.appendOnly == "no")
            #expect(lost.warnings.count == 1 && lost.warnings.first?.contains("does not fsync before it replies") == true, "\(lost.warnings)")
        } catch {
            await durable.stop()
            await volatile.stop()
            throw error
        }
        await durable.stop()
        await volatile.stop()
    }

    @Test("waiting for a replica the master does not have: a warning that security writes will answer 503, and the min-replicas-to-write advice")
    func tooFewReplicas() async throws {
        let server = try await RedisTestServer.start()
        do {
            let report = try await report(server, durability: StoreDurability(replicas: 1))
            #expect(report.connectedReplicas == 0)
            #expect(report.warnings.contains { $0.contains("0 replica(s) connected") && $0.contains("503") }, "\(report.warnings)")
            #expect(report.notes.contains { $0.contains("min-replicas-to-write") }, "\(report.notes)")
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test("a cluster: one report per master, and a master that does not fsync is named in its own warning while the others have none")
    func everyClusterMaster() async throws {
        try await withTestCluster(replicasPerMaster: 0) { cluster, client in
            // Two of the three masters fsync before they reply; the third does not.
            let careless = cluster.nodes[2]
            for index in 0..<2 {
                _ = try await cluster.cli(index, ["CONFIG", "SET", "appendonly", "yes", "appendfsync", "always"])
            }
            let reports = try await HallpassStore(redis: client, durability: .local).persistenceReports()
            #expect(reports.count == 3, "\(reports)")
            #expect(Set(reports.compactMap(\.node)) == Set(cluster.nodes.map { "127.0.0.1:\($0.port)" }))
            let warned = reports.filter { !$0.warnings.isEmpty }
            #expect(warned.map(\.node) == ["127.0.0.1:\(careless.port)"], "\(warned)")
            #expect(warned.first?.warnings.first?.contains("Redis master 127.0.0.1:\(careless.port) does not fsync before it replies") == true)
        }
    }
}
