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

    @Test("placement lists the 17 tags' slots and masters, and a plan whose moves leave every master within one tag of the others", arguments: [3, 4])
    func placement(masters: Int) async throws {
        let cluster = try await RedisClusterTestServer.start(masters: masters, replicasPerMaster: 0)
        do {
            let output = try await runProcess(try CLIFixture.binary(), ["--redis", cluster.url, "--json", "placement"])
            #expect(output.status == 0, "\(output.standardError)")
            let report = try #require(try document(output).objectValue)
            let tags = (report["tags"]?.arrayValue ?? []).compactMap { $0.objectValue }
            #expect(tags.count == 17)
            #expect(Set(tags.compactMap { $0["tag"]?.stringValue }).count == 17)
            // Each tag's master, as the cluster itself says: CLUSTER KEYSLOT agrees on the slot.
            for tag in tags {
                let name = try #require(tag["tag"]?.stringValue)
                let slot = try await cluster.cli(0, ["CLUSTER", "KEYSLOT", "hp:{\(name)}:ev"])
                #expect(slot.trimmingCharacters(in: .whitespacesAndNewlines) == String(tag["slot"]?.integerValue ?? -1))
            }
            var counts: [String: Int] = [:]
            for entry in (report["masters"]?.arrayValue ?? []).compactMap({ $0.objectValue }) {
                counts[try #require(entry["master"]?.stringValue)] = Int(entry["tags"]?.integerValue ?? -1)
            }
            #expect(counts.count == masters && counts.values.reduce(0, +) == 17)
            for move in (report["moves"]?.arrayValue ?? []).compactMap({ $0.objectValue }) {
                counts[try #require(move["from"]?.stringValue), default: 0] -= 1
                counts[try #require(move["to"]?.stringValue), default: 0] += 1
            }
            let low = 17 / masters
            #expect(counts.values.allSatisfy { $0 == low || $0 == low + 1 }, "after the plan: \(counts)")
            let table = try await runProcess(try CLIFixture.binary(), ["--redis", cluster.url, "placement"])
            #expect(table.status == 0 && table.standardOutput.contains("{hg}"))
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}

