import Foundation
import HallpassJOSE
import HallpassTestSupport
import Testing

@Suite("Ops CLI on a three-master Redis Cluster", .serialized)
struct ClusterCLITests {
    @Test("users, clients and the event log (backlog and --follow) work on a cluster, reading every master's streams")
    func eventsFromEveryNode() async throws {
        let cluster = try await RedisClusterTestServer.start()
        do {
            func hallpass(_ arguments: [String], input: String? = nil) async throws -> ProcessOutput {
                try await runProcess(try CLIFixture.binary(), ["--redis", cluster.url] + arguments, input: input)
            }
            // Users land in shards on every master; clients in the global stream.
            let names = (1...12).map { "user\($0)" }
            for name in names {
                let added = try await hallpass(["users", "add", name, "--password-stdin"], input: "pw\n")
                #expect(added.status == 0, "\(added.standardError)")
            }
            #expect(try await hallpass(["clients", "add", "early", "--public"]).status == 0)
            let listed = try #require(try document(try await hallpass(["--json", "users", "list"])).arrayValue)
            #expect(listed.count == names.count)

            let all = try #require(try document(try await hallpass(["--json", "events", "--count", "100"])).arrayValue)
            let created = Set(all.filter { $0.objectValue?["type"]?.stringValue == "user_created" }
                .compactMap { $0.objectValue?["detail"]?.stringValue })
            #expect(created == Set(names), "\(all)")
            #expect(all.contains { $0.objectValue?["type"]?.stringValue == "client_added" })

            let follower = try StreamingProcess(
                try CLIFixture.binary(), ["--redis", cluster.url, "--json", "events", "--follow", "--count", "0"])
            #expect(try await eventually(15) { follower.standardError.contains("following") }, "\(follower.standardError)")
            let later = (1...6).map { "later\($0)" }
            for name in later {
                #expect(try await hallpass(["users", "add", name, "--password-stdin"], input: "pw\n").status == 0)
            }
            #expect(try await hallpass(["clients", "add", "late", "--public"]).status == 0)
            #expect(try await eventually(10) {
                later.allSatisfy { follower.standardOutput.contains("\"\($0)\"") } && follower.standardOutput.contains("\"late\"")
            }, "\(follower.standardOutput)")
            follower.interrupt()
            #expect(try await follower.waitForExit(seconds: 10) == 0, "\(follower.standardError)")
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}
