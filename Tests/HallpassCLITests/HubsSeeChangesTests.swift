import Foundation
import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

/// CONTRACT §5: "A change made by the CLI takes effect at every hub and validator before the
/// next request after the CLI returns". Two hub processes share one Redis; each test makes the
/// hubs cache what is about to change (a request just before), runs the CLI, and sends the
/// very next request to both hubs. Without the hubs' event feed and the CLI waiting for their
/// reports, the hubs would answer from their caches for up to a second.
@Suite("A CLI change is seen by the next request at every hub", .serialized)
struct HubsSeeChangesTests {
    /// Two hubs, the user `alice` and a confidential client `api` with the password grant.
    private func withTwoHubs(_ body: (CLIFixture, [HubClient], String) async throws -> Void) async throws {
        try await withCLI { cli in
            #expect(try await cli.run(["users", "add", "alice", "--password-stdin"], input: "alice pw\n").status == 0)
            let added = try document(try await cli.run(["--json", "clients", "add", "api", "--grant", "password"]))
            let secret = try #require(added.objectValue?["client_secret"]?.stringValue)
            let first = try await HubProcess.start(redisURL: cli.url, issuer: "http://sso.hallpass.test")
            let second: HubProcess
            do {
                second = try await HubProcess.start(redisURL: cli.url, issuer: "http://sso.hallpass.test")
            } catch {
                await first.stop()
                throw error
            }
            do {
                try await body(cli, [HubClient(baseURL: first.baseURL), HubClient(baseURL: second.baseURL)], secret)
            } catch {
                await first.stop()
                await second.stop()
                throw error
            }
            await first.stop()
            await second.stop()
        }
    }

    /// The CLI's outcome, with nothing on stderr: every hub confirmed in time.
    private func expectConfirmed(_ output: ProcessOutput, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(output.status == 0, "\(output.standardError)", sourceLocation: sourceLocation)
        #expect(output.standardError.isEmpty, "\(output.standardError)", sourceLocation: sourceLocation)
    }

    @Test("clients remove: the next token request at each hub is invalid_client")
    func removedClient() async throws {
        try await withTwoHubs { cli, hubs, secret in
            for hub in hubs {
                #expect(try await hub.login("alice", password: "alice pw", client: "api", secret: secret).status == 200)
            }
            expectConfirmed(try await cli.run(["clients", "remove", "api"]))
            for hub in hubs {
                let refused = try await hub.login("alice", password: "alice pw", client: "api", secret: secret)
                #expect(refused.status == 401, "\(refused.text)")
                #expect(refused.string("error") == "invalid_client")
            }
        }
    }

    @Test("clients add: a client added just after a hub looked it up gets a token at once")
    func addedClient() async throws {
        try await withTwoHubs { cli, hubs, _ in
            // Each hub now caches "no such client".
            for hub in hubs {
                #expect(try await hub.login("alice", password: "alice pw", client: "late", secret: "nothing").status == 401)
            }
            let added = try await cli.run(["--json", "clients", "add", "late", "--grant", "password"])
            expectConfirmed(added)
            let secret = try #require(try document(added).objectValue?["client_secret"]?.stringValue)
            for hub in hubs {
                let reply = try await hub.login("alice", password: "alice pw", client: "late", secret: secret)
                #expect(reply.status == 200, "\(reply.text)")
            }
        }
    }

    @Test("keys rotate --activate-now: the next token at each hub is signed with the new key")
    func activatedKey() async throws {
        try await withTwoHubs { cli, hubs, secret in
            for hub in hubs {
                let before = try await hub.login("alice", password: "alice pw", client: "api", secret: secret)
                #expect(before.status == 200)
            }
            let rotated = try await cli.run(["--json", "keys", "rotate", "--activate-now"])
            expectConfirmed(rotated)
            let kid = try #require(try document(rotated).objectValue?["kid"]?.stringValue)
            for hub in hubs {
                let reply = try await hub.login("alice", password: "alice pw", client: "api", secret: secret)
                let token = try #require(reply.string("access_token"), "\(reply.text)")
                #expect(keyID(of: token) == kid)
            }
        }
    }

    @Test("keys withdraw: the withdrawn key signs nothing more at either hub, and its tokens are void")
    func withdrawnKey() async throws {
        try await withTwoHubs { cli, hubs, secret in
            var tokens: [String] = []
            for hub in hubs {
                let reply = try await hub.login("alice", password: "alice pw", client: "api", secret: secret)
                tokens.append(try #require(reply.string("access_token"), "\(reply.text)"))
            }
            let withdrawnKID = try #require(keyID(of: tokens[0]))
            let withdrawn = try await cli.run(["--json", "keys", "withdraw", "--kid", withdrawnKID])
            expectConfirmed(withdrawn)
            let replacement = try #require(try document(withdrawn).objectValue?["replacement"]?.objectValue?["kid"]?.stringValue)
            for hub in hubs {
                let reply = try await hub.login("alice", password: "alice pw", client: "api", secret: secret)
                let token = try #require(reply.string("access_token"), "\(reply.text)")
                #expect(keyID(of: token) == replacement)
                #expect(try await hub.isActive(tokens[0], client: "api", secret: secret) == false)
            }
        }
    }

    @Test("policy set: the next login at each hub follows the new single-login and second-factor policies")
    func policies() async throws {
        try await withTwoHubs { cli, hubs, secret in
            #expect(try await hubs[0].login("alice", password: "alice pw", client: "api", secret: secret).status == 200)
            expectConfirmed(try await cli.run(["policy", "set", "single-login", "deny-new"]))
            for hub in hubs {
                let refused = try await hub.login("alice", password: "alice pw", client: "api", secret: secret)
                #expect(refused.string("error") == "session_exists", "\(refused.text)")
            }
            expectConfirmed(try await cli.run(["policy", "set", "single-login", "newest-wins"]))
            expectConfirmed(try await cli.run(["policy", "set", "mfa", "required"]))
            for hub in hubs {
                let refused = try await hub.login("alice", password: "alice pw", client: "api", secret: secret)
                #expect(refused.string("error") == "mfa_enrollment_required", "\(refused.text)")
            }
        }
    }

    @Test("a hung hub is not waited for past the bound: the CLI names it in a warning, and the hub applies the change once it runs again")
    func hungHub() async throws {
        try await withCLI { cli in
            #expect(try await cli.run(["users", "add", "alice", "--password-stdin"], input: "alice pw\n").status == 0)
            let hub = try await HubProcess.start(redisURL: cli.url)
            do {
                let reports = try await cli.store.hubReports()
                #expect(reports.count == 1)
                hub.pause()
                let started = ContinuousClock.now
                let added = try await cli.run(["--json", "clients", "add", "late", "--grant", "password"])
                let waited = started.duration(to: .now)
                #expect(added.status == 0, "\(added.standardError)")
                #expect(added.standardError.contains("1 running hub(s) did not confirm the change"), "\(added.standardError)")
                #expect(added.standardError.contains(reports.first?.hubID ?? "?"))
                // The bound is 2 s; a process start and a slow machine add some.
                #expect(waited >= .seconds(2) && waited < .seconds(15), "\(waited)")
                let secret = try #require(try document(added).objectValue?["client_secret"]?.stringValue)
                hub.resume()
                let reply = try await HubClient(baseURL: hub.baseURL).login("alice", password: "alice pw", client: "late", secret: secret)
                #expect(reply.status == 200, "\(reply.text)")
            } catch {
                hub.resume()
                await hub.stop()
                throw error
            }
            await hub.stop()
            // A hub that stopped withdrew its report: the next change waits for nobody.
            #expect(try await cli.store.hubReports().isEmpty)
            let quick = try await cli.run(["clients", "add", "after", "--public"])
            #expect(quick.status == 0 && quick.standardError.isEmpty, "\(quick.standardError)")
        }
    }
}
