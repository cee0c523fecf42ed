import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

/// `persistenceReport()`, what the hub logs at every start: whether Redis can keep an
/// acknowledged security write (CONTRACT section 5).
@Suite("What Redis promises about acknowledged writes")
struct PersistenceReportTests {
    func report(_ server: RedisTestServer, durability: StoreDurability) async throws -> PersistenceReport {
        let client = try testRedisClient(url: server.url)
        defer { Task { await client.shutdown() } }
        return try await HallpassStore(redis: client, durability: durability).persistenceReport()
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
}
