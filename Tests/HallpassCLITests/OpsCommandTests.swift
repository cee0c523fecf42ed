import Foundation
import HallpassJOSE
import HallpassPasswords
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Logging
import Synchronization
import Testing

/// The ops commands beyond users and clients, run as the built `hallpass` binary against a
/// private `redis-server` and, where tokens are involved, a real `hallpass-hub` process.
///
/// The validator library (`Hallpass`) is written in parallel; until it lands, "rejected by a
/// validator" is checked with the hub's introspection endpoint, which applies the same
/// revocation state, and with JWKS-based signature checks done here.
@Suite("Ops CLI: sessions, revocation, policy, keys, events", .serialized)
struct OpsCommandTests {
    /// Adds user `name` with `password` and a confidential client `api` through the CLI;
    /// returns the client secret.
    static func seed(_ cli: CLIFixture, user name: String, password: String) async throws -> String {
        #expect(try await cli.run(["users", "add", name, "--password-stdin"], input: password + "\n").status == 0)
        let client = try document(try await cli.run(["--json", "clients", "add", "api", "--grant", "password", "--grant", "refresh_token"]))
        return try #require(client.objectValue?["client_secret"]?.stringValue)
    }

    @Test("sessions list shows each login with address, user agent and clients; sessions revoke, tokens revoke, logout and users disable/enable act at the hub", arguments: RedisTopologyUnderTest.underTest)
    func sessionsAndRevocation(topology: RedisTopologyUnderTest) async throws {
        try await withCLI(topology: topology) { cli in
            let secret = try await Self.seed(cli, user: "alice", password: "alice pw")
            #expect(try await cli.run(["policy", "set", "single-login", "off", "--user", "alice"]).status == 0)
            let hubProcess = try await HubProcess.start(redisURL: cli.url, arguments: ["--durable-replicas", "\(cli.durableReplicas)"])
            defer { Task { await hubProcess.stop() } }
            let hub = HubClient(baseURL: hubProcess.baseURL)

            let first = try await hub.login("alice", password: "alice pw", client: "api", secret: secret, userAgent: "ops-test/1.0 (first)")
            let second = try await hub.login("alice", password: "alice pw", client: "api", secret: secret, userAgent: "ops-test/1.0 (second)")
            #expect(first.status == 200 && second.status == 200, "\(first.text) \(second.text)")
            let firstRefresh = try #require(first.string("refresh_token"))
            let secondRefresh = try #require(second.string("refresh_token"))
            let secondAccess = try #require(second.string("access_token"))

            // sessions list, JSON and table.
            let listed = try #require(try document(try await cli.run(["--json", "sessions", "list", "alice"])).arrayValue)
            #expect(listed.count == 2)
            let agents = Set(listed.compactMap { $0.objectValue?["user_agent"]?.stringValue })
            #expect(agents == ["ops-test/1.0 (first)", "ops-test/1.0 (second)"])
            for session in listed.compactMap(\.objectValue) {
                #expect(session["user"]?.stringValue == "alice")
                #expect(session["ip"]?.stringValue == "127.0.0.1")
                #expect(session["clients"] == .array([.string("api")]))
                #expect((session["started_at"]?.integerValue ?? 0) > 0)
            }
            let everyone = try #require(try document(try await cli.run(["sessions", "list", "--json"])).arrayValue)
            #expect(everyone.count == 2)
            let table = try await cli.run(["sessions", "list"])
            #expect(table.status == 0)
            let lines = table.standardOutput.split(separator: "\n")
            #expect(lines.count == 3, "\(table.standardOutput)")
            #expect(lines.first?.hasPrefix("SID") == true)
            #expect(table.standardOutput.contains("ops-test/1.0 (second)"))

            // sessions revoke: that session's refresh token dies; the other session lives.
            let alice = try #require(try await cli.store.user(named: "alice"))
            let aliceSessions = try await cli.store.sessions(ofUser: alice.id)
            let firstSID = try #require(aliceSessions.first(where: { $0.userAgent.contains("first") })?.id)
            let revoked = try document(try await cli.run(["--json", "sessions", "revoke", firstSID]))
            #expect(revoked == ["sid": .string(firstSID), "user": "alice", "ended": true])
            #expect(try await hub.refresh(firstRefresh, client: "api", secret: secret).status == 400)
            let again = try await cli.run(["sessions", "revoke", firstSID])
            #expect(again.status == 1)
            #expect(again.standardError.split(separator: "\n").count == 1, "\(again.standardError)")
            #expect(try await cli.run(["sessions", "revoke", "nosuchsession"]).status == 1)

            // tokens revoke: that one access token is void, its session goes on.
            #expect(try await hub.isActive(secondAccess, client: "api", secret: secret))
            let jti = try #require(claim("jti", of: secondAccess)?.stringValue)
            let tokenRevoked = try document(try await cli.run(["--json", "tokens", "revoke", jti]))
            #expect(tokenRevoked == ["jti": .string(jti), "revoked": true, "already_revoked": false])
            #expect(!(try await hub.isActive(secondAccess, client: "api", secret: secret)))
            let human = try await cli.run(["tokens", "revoke", jti])
            #expect(human.status == 0 && human.standardOutput.contains("already revoked"), "\(human.standardOutput)")
            let refreshed = try await hub.refresh(secondRefresh, client: "api", secret: secret)
            #expect(refreshed.status == 200, "\(refreshed.text)")
            let liveAccess = try #require(refreshed.string("access_token"))
            let liveRefresh = try #require(refreshed.string("refresh_token"))
            #expect(try await hub.isActive(liveAccess, client: "api", secret: secret))

            // logout: every session ends; the access token fails introspection, the refresh token fails.
            let loggedOut = try document(try await cli.run(["--json", "logout", "alice"]))
            #expect(loggedOut == ["user": "alice", "sessions_ended": 1])
            #expect(!(try await hub.isActive(liveAccess, client: "api", secret: secret)))
            #expect(try await hub.refresh(liveRefresh, client: "api", secret: secret).status == 400)
            #expect(try await cli.store.sessions(ofUser: try #require(try await cli.store.user(named: "alice")).id).isEmpty)
            let humanLogout = try await cli.run(["logout", "alice"])
            #expect(humanLogout.standardOutput == "logged out alice: 0 sessions ended\n")
            let unknown = try await cli.run(["logout", "nobody"])
            #expect(unknown.status == 1)
            #expect(unknown.standardError == "hallpass: no user nobody\n")

            // A login after the logout works (a logout is not a ban) ...
            let third = try await hub.login("alice", password: "alice pw", client: "api", secret: secret)
            #expect(third.status == 200, "\(third.text)")
            let thirdAccess = try #require(third.string("access_token"))
            let thirdRefresh = try #require(third.string("refresh_token"))
            // ... users disable ends it and blocks the next one ...
            let disabled = try document(try await cli.run(["--json", "users", "disable", "alice"]))
            #expect(disabled == ["user": "alice", "disabled": true, "sessions_ended": 1])
            #expect(!(try await hub.isActive(thirdAccess, client: "api", secret: secret)))
            #expect(try await hub.refresh(thirdRefresh, client: "api", secret: secret).status == 400)
            let blocked = try await hub.login("alice", password: "alice pw", client: "api", secret: secret)
            #expect(blocked.status == 400, "\(blocked.text)")
            let users = try #require(try document(try await cli.run(["--json", "users", "list"])).arrayValue)
            #expect(users.first?.objectValue?["disabled"] == .bool(true))
            // ... and users enable lets the user in again.
            let enabled = try await cli.run(["users", "enable", "alice"])
            #expect(enabled.status == 0 && enabled.standardOutput == "enabled alice\n", "\(enabled.standardError)")
            #expect(try await hub.login("alice", password: "alice pw", client: "api", secret: secret).status == 200)
            #expect(try await cli.run(["users", "disable", "nobody"]).status == 1)
            #expect(try await cli.run(["users", "enable", "nobody"]).status == 1)
        }
    }

    @Test("users passwd replaces the password; clients remove unregisters a client", arguments: RedisTopologyUnderTest.underTest)
    func passwdAndClientRemoval(topology: RedisTopologyUnderTest) async throws {
        try await withCLI(topology: topology) { cli in
            _ = try await Self.seed(cli, user: "bob", password: "old pw")
            let changed = try await cli.run(["--json", "users", "passwd", "bob", "--password-stdin"], input: "new pw\n")
            #expect(changed.status == 0, "\(changed.standardError)")
            let user = try #require(try await cli.store.user(named: "bob"))
            #expect(try PasswordHasher().verify("new pw", against: user.passwordHash))
            #expect(!changed.standardOutput.contains("new pw"))
            #expect(try await cli.run(["users", "passwd", "ghost", "--password-stdin"], input: "x\n").status == 1)
            #expect(try await cli.run(["users", "passwd", "bob", "--password-stdin"], input: "\n").status == 1)

            let removed = try document(try await cli.run(["--json", "clients", "remove", "api"]))
            #expect(removed == ["client_id": "api", "removed": true])
            #expect(try await cli.store.client(id: "api") == nil)
            let twice = try await cli.run(["clients", "remove", "api"])
            #expect(twice.status == 1)
            #expect(twice.standardError.split(separator: "\n").count == 1)
            let events = try await cli.store.recentEvents(count: 20).map(\.type)
            #expect(events.contains("password_changed") && events.contains("client_removed"), "\(events)")
        }
    }

    @Test("policy show and set, globally and per user")
    func policy() async throws {
        try await withCLI { cli in
            #expect(try await cli.run(["users", "add", "carol", "--password-stdin"], input: "pw\n").status == 0)
            let initial = try document(try await cli.run(["--json", "policy", "show"]))
            #expect(initial == [
                "single_login": ["global": .null, "users": .array([])], "mfa": ["global": .null, "users": .array([])],
            ])
            let unset = try await cli.run(["policy", "show"])
            #expect(unset.standardOutput.contains("not set"), "\(unset.standardOutput)")

            #expect(try await cli.run(["policy", "set", "single-login", "deny-new"]).status == 0)
            let perUser = try await cli.run(["--json", "policy", "set", "single-login", "off", "--user", "carol"])
            #expect(try document(perUser) == ["setting": "single-login", "value": "off", "user": "carol"])
            let carolID = try #require(try await cli.store.user(named: "carol")).id
            let shown = try document(try await cli.run(["--json", "policy", "show"]))
            #expect(shown == [
                "single_login": ["global": "deny-new", "users": [["user": "carol", "id": .string(carolID), "policy": "off"]]],
                "mfa": ["global": .null, "users": .array([])],
            ])
            #expect(try await cli.store.globalSingleLoginPolicy() == .denyNew)
            let table = try await cli.run(["policy", "show"])
            // The header, the two global settings and carol's override.
            #expect(table.standardOutput.split(separator: "\n").count == 4, "\(table.standardOutput)")
            #expect(table.standardOutput.contains("user carol") && table.standardOutput.contains("deny-new"))

            #expect(try await cli.run(["policy", "set", "single-login", "default", "--user", "carol"]).status == 0)
            #expect(try await cli.store.user(named: "carol")?.singleLoginPolicy == nil)
            #expect(try await cli.run(["policy", "set", "single-login", "off", "--user", "ghost"]).status == 1)
        }
    }

    @Test("bad usage of the new commands exits 2", arguments: [
        ["sessions"], ["sessions", "revoke"], ["sessions", "list", "bad name!"], ["logout"], ["logout", "a", "b"],
        ["tokens", "revoke"], ["tokens", "revoke", "has space"], ["policy"], ["policy", "set", "single-login"],
        ["policy", "set", "multi-login", "off"], ["policy", "set", "single-login", "sometimes"],
        ["policy", "set", "single-login", "default"], ["keys"], ["keys", "rotate", "--alg", "HS256"],
        ["keys", "rotate", "--activate-now", "--activation-delay", "5"], ["keys", "rotate", "--activation-delay", "-1"],
        ["keys", "withdraw"], ["keys", "withdraw", "k1"], ["keys", "withdraw", "--kid", "k1", "--alg", "none"],
        ["clients", "add", "rp", "--id-token-alg", "HS256"], ["clients", "add", "rp", "--id-token-alg", "none"],
        ["events", "--count", "-1"], ["events", "--user", "bad name!"], ["users", "disable"], ["clients", "remove"],
    ])
    func badUsage(arguments: [String]) async throws {
        try await withCLI { cli in
            let result = try await cli.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
            #expect(result.standardOutput.isEmpty)
        }
    }

    @Test("clients add --id-token-alg is stored and listed; keys rotate rotates the primary and every ID-token chain; an ID-token key keeps its algorithm when withdrawn")
    func idTokenAlgorithms() async throws {
        try await withCLI { cli in
            #expect(try await cli.run(["clients", "add", "strict", "--grant", "authorization_code", "--id-token-alg", "RS256"]).status == 0)
            #expect(try await cli.run(["clients", "add", "plain"]).status == 0)
            #expect(try await cli.store.client(id: "strict")?.idTokenAlgorithm == .rs256)
            let clients = try #require(try document(try await cli.run(["--json", "clients", "list"])).arrayValue)
            let algorithms = Dictionary(uniqueKeysWithValues: clients.compactMap { client -> (String, JSONValue)? in
                guard let id = client.objectValue?["client_id"]?.stringValue else { return nil }
                return (id, client.objectValue?["id_token_signed_response_alg"] ?? .null)
            })
            #expect(algorithms == ["strict": "RS256", "plain": .null])
            #expect(try await cli.run(["clients", "list"]).standardOutput.contains("RS256"))

            // The keys a hub keeps: a primary key and one ID-token key per algorithm.
            let now = HallpassStore.wallClockMilliseconds() / 1000
            let primary = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now, activatesAt: now)
            #expect(try await cli.store.addFirstSigningKey(primary, actor: "test"))
            let idKeys = try JWSAlgorithm.allCases.map {
                try StoredSigningKey.generate(algorithm: $0, kek: nil, createdAt: now, activatesAt: now, use: .idToken)
            }
            #expect(try await cli.store.addIDTokenSigningKeys(idKeys, actor: "test").count == 3)
            let listed = try #require(try document(try await cli.run(["--json", "keys", "list"])).arrayValue)
            #expect(listed.filter { $0.objectValue?["use"] == "id_token" }.count == 3)
            #expect(try await cli.run(["keys", "list"]).standardOutput.contains("id_token"))

            let rotated = try document(try await cli.run(["--json", "keys", "rotate", "--alg", "EdDSA"]))
            #expect(rotated.objectValue?["alg"] == "EdDSA")
            let newIDKeys = try #require(rotated.objectValue?["id_token_keys"]?.arrayValue)
            #expect(Set(newIDKeys.compactMap { $0.objectValue?["alg"]?.stringValue }) == ["ES256", "EdDSA", "RS256"])
            let keys = try await cli.store.signingKeys()
            // Every old key retires, each in its own chain; the new ones are announced.
            #expect(keys.count == 8)
            #expect(Set(keys.filter { $0.retiresAt != nil }.map(\.keyID)) == Set([primary.keyID] + idKeys.map(\.keyID)))
            #expect(keys.filter { $0.use == .idToken && $0.retiresAt == nil }.count == 3)

            // Withdrawing the RS256 ID-token signer: its replacement is an RS256 ID-token key.
            let rsa = idKeys[2]
            let refused = try await cli.run(["keys", "withdraw", "--kid", rsa.keyID, "--alg", "ES256"])
            #expect(refused.status == 1 && refused.standardError.contains("RS256"), "\(refused.standardError)")
            let withdrawn = try document(try await cli.run(["--json", "keys", "withdraw", "--kid", rsa.keyID]))
            let replacementKID = try #require(withdrawn.objectValue?["replacement"]?.objectValue?["kid"]?.stringValue)
            let replacement = try #require(try await cli.store.signingKeys().first { $0.keyID == replacementKID })
            #expect(replacement.use == .idToken && replacement.algorithm == "RS256")
        }
    }

    @Test("keys rotate announces, delays, retires and supersedes; the KEK is required and checked; retired keys are deleted")
    func keyLifecycle() async throws {
        try await withCLI { cli in
            let kek = try makeKEKFile()
            let otherKEK = try makeKEKFile()
            defer {
                try? FileManager.default.removeItem(at: kek.deletingLastPathComponent())
                try? FileManager.default.removeItem(at: otherKEK.deletingLastPathComponent())
            }
            let empty = try await cli.run(["keys", "list"])
            #expect(empty.status == 0 && empty.standardOutput.isEmpty)

            let first = try document(try await cli.run(["--json", "keys", "rotate", "--activate-now", "--kek-file", kek.path]))
            let firstKID = try #require(first.objectValue?["kid"]?.stringValue)
            #expect(first.objectValue?["alg"] == "ES256")
            // Sealed keys need the KEK, and the right one.
            let withoutKEK = try await cli.run(["keys", "rotate"])
            #expect(withoutKEK.status == 1 && withoutKEK.standardError.contains("--kek-file"), "\(withoutKEK.standardError)")
            let wrongKEK = try await cli.run(["keys", "rotate", "--kek-file", otherKEK.path])
            #expect(wrongKEK.status == 1, "\(wrongKEK.standardError)")
            let fromEnvironment = try await runProcess(
                try CLIFixture.binary(), ["--redis", cli.url, "--json", "keys", "rotate", "--alg", "EdDSA", "--activation-delay", "600"],
                environment: ["HALLPASS_KEK_FILE": kek.path])
            let next = try document(fromEnvironment)
            let nextKID = try #require(next.objectValue?["kid"]?.stringValue)
            #expect(next.objectValue?["alg"] == "EdDSA")
            let activates = try #require(next.objectValue?["activates_at"]?.integerValue)
            let retiring = try #require(next.objectValue?["retiring"]?.arrayValue?.first?.objectValue)
            #expect(retiring["kid"]?.stringValue == firstKID)
            #expect(retiring["retires_at"]?.integerValue == activates + HallpassStore.maximumAccessTokenLifetime + HallpassStore.clockSkewAllowance)

            let listed = try #require(try document(try await cli.run(["--json", "keys", "list"])).arrayValue)
            var states: [String: String] = [:]
            for key in listed {
                if let kid = key.objectValue?["kid"]?.stringValue { states[kid] = key.objectValue?["state"]?.stringValue }
            }
            #expect(states == [firstKID: "active", nextKID: "next"])
            let table = try await cli.run(["keys", "list"])
            #expect(table.standardOutput.hasPrefix("KID"))
            #expect(table.standardOutput.contains("next") && table.standardOutput.contains("active"))

            // --activate-now after a delayed rotation: the announced key never signed and is dropped.
            let now = try document(try await cli.run(["--json", "keys", "rotate", "--activate-now", "--kek-file", kek.path]))
            let nowKID = try #require(now.objectValue?["kid"]?.stringValue)
            #expect(now.objectValue?["alg"] == "ES256")
            #expect(now.objectValue?["deleted"] == .array([.string(nextKID)]))
            let keys = try await cli.store.signingKeys()
            #expect(Set(keys.map(\.keyID)) == [firstKID, nowKID])
            #expect(keys.allSatisfy { $0.isSealed })
            let firstRetires = keys.first(where: { $0.keyID == firstKID })?.retiresAt
            #expect(firstRetires != nil)

            // A key past its retirement is listed as retired and deleted by the next rotation.
            var old = try #require(keys.first { $0.keyID == firstKID })
            old.retiresAt = HallpassStore.wallClockMilliseconds() / 1000 - 1
            try await cli.store.saveSigningKeys([old], event: "key_test", actor: "test")
            let retired = try #require(try document(try await cli.run(["--json", "keys", "list"])).arrayValue)
            #expect(retired.contains { $0.objectValue?["state"] == "retired" })
            let pruned = try document(try await cli.run(["--json", "keys", "rotate", "--kek-file", kek.path]))
            #expect(pruned.objectValue?["deleted"] == .array([.string(firstKID)]))
            let events = try await cli.store.recentEvents(count: 50).filter { $0.type == HallpassStore.keyRotatedEvent }
            #expect(events.count == 4)
            #expect(events.last?.detail.contains("deleted=\(firstKID)") == true)
            let human = try await cli.run(["keys", "rotate", "--kek-file", kek.path])
            #expect(human.status == 0 && human.standardOutput.hasPrefix("new key "), "\(human.standardOutput)")
        }
    }

    @Test(
        "a key rotation (announce, activate, retire) under continuous logins, refreshes and JWKS-cached verification has zero failures",
        arguments: [["--activate-now"], ["--activation-delay", "3"]])
    func rotationUnderLoad(mode: [String]) async throws {
        try await withCLI { cli in
            let kek = try makeKEKFile()
            defer { try? FileManager.default.removeItem(at: kek.deletingLastPathComponent()) }
            let secret = try await Self.seed(cli, user: "dora", password: "dora pw")
            #expect(try await cli.run(["policy", "set", "single-login", "off"]).status == 0)
            let hubProcess = try await HubProcess.start(redisURL: cli.url, arguments: ["--kek-file", kek.path])
            defer { Task { await hubProcess.stop() } }
            let hub = HubClient(baseURL: hubProcess.baseURL)
            let issuer = hubProcess.baseURL
            let firstKID = try #require(try await hub.jwks().keys.first?.keyID)

            let load = RotationLoad()
            let loop = Task {
                // A JWKS-caching client: keys refreshed every second, and refetched once when a
                // token names a kid the cache lacks.
                var keys = try await hub.jwks()
                var fetchedAt = ContinuousClock.now
                func verify(_ token: String) async throws {
                    if ContinuousClock.now - fetchedAt > .seconds(1) {
                        keys = try await hub.jwks()
                        fetchedAt = .now
                    }
                    var rules = JWTValidator.Configuration(issuer: issuer, audience: "api")
                    rules.checksAudience = true
                    if let kid = keyID(of: token), !keys.keys.contains(where: { $0.keyID == kid }) {
                        load.record(refetch: true)
                        keys = try await hub.jwks()
                        fetchedAt = .now
                    }
                    load.record(jwksSize: keys.keys.count)
                    do {
                        _ = try JWTValidator(configuration: rules, keys: try VerificationKeys(jwks: keys)).validate(token)
                        load.record(kid: keyID(of: token) ?? "?", failure: nil)
                    } catch {
                        load.record(kid: keyID(of: token) ?? "?", failure: "\(error)")
                    }
                }
                while !Task.isCancelled {
                    let login = try await hub.login("dora", password: "dora pw", client: "api", secret: secret)
                    guard login.status == 200, let access = login.string("access_token"), let refresh = login.string("refresh_token") else {
                        load.record(kid: "-", failure: "login \(login.status): \(login.text)")
                        continue
                    }
                    try await verify(access)
                    // A few refreshes per login: logins cost Argon2id, and other suites run
                    // timing-sensitive tests on the same two cores.
                    var current = refresh
                    for _ in 0..<4 where !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(40))
                        let refreshed = try await hub.refresh(current, client: "api", secret: secret)
                        guard refreshed.status == 200, let next = refreshed.string("access_token"),
                            let successor = refreshed.string("refresh_token")
                        else {
                            load.record(kid: "-", failure: "refresh \(refreshed.status): \(refreshed.text)")
                            break
                        }
                        try await verify(next)
                        current = successor
                    }
                }
            }
            defer { loop.cancel() }
            #expect(try await eventually(20) { load.verified >= 3 })
            // A token the old key signed before the rotation, checked again during the overlap.
            let before = try await hub.login("dora", password: "dora pw", client: "api", secret: secret)
            let oldToken = try #require(before.string("access_token"))
            #expect(keyID(of: oldToken) == firstKID)

            let rotated = try document(try await cli.run(["--json", "keys", "rotate", "--kek-file", kek.path] + mode))
            let newKID = try #require(rotated.objectValue?["kid"]?.stringValue)
            let activatesAt = try #require(rotated.objectValue?["activates_at"]?.integerValue)
            // The hub announces the new key; with a delay, before it signs with it.
            #expect(try await eventually(10) { try await hub.jwks().keys.contains { $0.keyID == newKID } })
            let jwks = try await hub.jwks()
            #expect(Set(jwks.keys.compactMap(\.keyID)) == [firstKID, newKID])
            if mode != ["--activate-now"] {
                #expect(HallpassStore.wallClockMilliseconds() / 1000 < activatesAt, "announced only after activation")
                #expect(!load.kids.contains(newKID), "signed with the new key before its activation")
            }
            // The hub moves to the new key by itself and the old key stays published.
            #expect(try await eventually(20) { load.kids.contains(newKID) })
            let signedAfter = load.verified
            #expect(try await eventually(20) { load.verified >= signedAfter + 3 })
            let overlap = try await hub.jwks()
            #expect(Set(overlap.keys.compactMap(\.keyID)) == [firstKID, newKID])
            var rules = JWTValidator.Configuration(issuer: issuer, audience: "api")
            rules.checksAudience = true
            _ = try JWTValidator(configuration: rules, keys: try VerificationKeys(jwks: overlap)).validate(oldToken)
            #expect(try await hub.isActive(oldToken, client: "api", secret: secret))
            let states = try #require(try document(try await cli.run(["--json", "keys", "list"])).arrayValue)
            #expect(Set(states.compactMap { $0.objectValue?["state"]?.stringValue }) == ["active", "retiring"])

            // The last step, retirement, comes 3660 s after the activation; bring it forward to
            // two seconds from now (as if that time had passed) and keep the load running.
            var old = try #require(try await cli.store.signingKeys().first(where: { $0.keyID == firstKID }))
            old.retiresAt = HallpassStore.wallClockMilliseconds() / 1000 + 2
            try await cli.store.saveSigningKeys([old], event: "key_retire_early", actor: "test")
            #expect(try await eventually(10) { try await hub.jwks().keys.compactMap(\.keyID) == [newKID] })
            #expect(try await eventually(10) { try await cli.store.signingKeys().map(\.keyID) == [newKID] })
            let afterRetirement = load.verified
            #expect(try await eventually(20) { load.verified >= afterRetirement + 3 })
            loop.cancel()
            _ = await loop.result
            #expect(load.failures.isEmpty, "\(load.failures.prefix(5))")
            #expect(load.maximumJWKSSize == 2)
            if mode != ["--activate-now"] {
                #expect(load.refetches == 0, "a token named a kid that the 1-second JWKS cache did not have")
            }
            let final = try #require(try document(try await cli.run(["--json", "keys", "list"])).arrayValue)
            #expect(final.compactMap { $0.objectValue?["state"]?.stringValue } == ["active"])
        }
    }

    @Test("the hub deletes keys past their retirement and drops them from JWKS")
    func hubDeletesRetiredKeys() async throws {
        try await withCLI { cli in
            let hubProcess = try await HubProcess.start(redisURL: cli.url)
            defer { Task { await hubProcess.stop() } }
            let hub = HubClient(baseURL: hubProcess.baseURL)
            let firstKID = try #require(try await hub.jwks().keys.first?.keyID)
            let rotated = try document(try await cli.run(["--json", "keys", "rotate", "--activate-now"]))
            let newKID = try #require(rotated.objectValue?["kid"]?.stringValue)
            var old = try #require(try await cli.store.signingKeys().first { $0.keyID == firstKID })
            old.retiresAt = HallpassStore.wallClockMilliseconds() / 1000 + 2
            try await cli.store.saveSigningKeys([old], event: "key_test", actor: "test")
            #expect(try await eventually(10) { try await hub.jwks().keys.compactMap(\.keyID) == [newKID] })
            #expect(try await eventually(10) { try await cli.store.signingKeys().map(\.keyID) == [newKID] })
            #expect(try await cli.store.recentEvents(count: 20).contains { $0.type == HallpassStore.keyDeletedEvent && $0.actor == "hub" })
        }
    }

    @Test("keys withdraw takes the signing key out of JWKS at once: the hub signs with the replacement, the old access token is inactive, refresh still works")
    func withdrawTheSigningKey() async throws {
        try await withCLI { cli in
            let kek = try makeKEKFile()
            defer { try? FileManager.default.removeItem(at: kek.deletingLastPathComponent()) }
            let secret = try await Self.seed(cli, user: "wes", password: "wes pw")
            let hubProcess = try await HubProcess.start(redisURL: cli.url, arguments: ["--kek-file", kek.path])
            defer { Task { await hubProcess.stop() } }
            let hub = HubClient(baseURL: hubProcess.baseURL)
            let login = try await hub.login("wes", password: "wes pw", client: "api", secret: secret)
            let access = try #require(login.string("access_token"))
            let refresh = try #require(login.string("refresh_token"))
            let leakedKID = try #require(keyID(of: access))
            #expect(try await hub.isActive(access, client: "api", secret: secret))

            let unknown = try await cli.run(["keys", "withdraw", "--kid", "no-such-kid", "--kek-file", kek.path])
            #expect(unknown.status == 1 && unknown.standardError.contains("no signing key no-such-kid"), "\(unknown.standardError)")
            // Key ids are base64url and may start with "-" (even "-h"): still the kid, never flags.
            let dashed = try await cli.run(["keys", "withdraw", "--kid", "-hAbC", "--kek-file", kek.path])
            #expect(dashed.status == 1 && dashed.standardError.contains("no signing key -hAbC"), "\(dashed.standardError)")
            // The key signs now, keys are sealed: the replacement needs the KEK.
            let withoutKEK = try await cli.run(["keys", "withdraw", "--kid", leakedKID])
            #expect(withoutKEK.status == 1 && withoutKEK.standardError.contains("--kek-file"), "\(withoutKEK.standardError)")
            #expect(try await cli.store.signingKeys().map(\.keyID) == [leakedKID])

            let withdrawn = try document(try await cli.run(["--json", "keys", "withdraw", "--kid", leakedKID, "--alg", "EdDSA", "--kek-file", kek.path]))
            #expect(withdrawn.objectValue?["withdrawn"]?.stringValue == leakedKID)
            let replacementKID = try #require(withdrawn.objectValue?["replacement"]?.objectValue?["kid"]?.stringValue)
            #expect(withdrawn.objectValue?["replacement"]?.objectValue?["alg"] == "EdDSA")
            #expect(try await cli.store.signingKeys().allSatisfy { $0.isSealed })

            #expect(try await eventually(10) { try await hub.jwks().keys.compactMap(\.keyID) == [replacementKID] })
            #expect(try await hub.isActive(access, client: "api", secret: secret) == false)
            let refreshed = try await hub.refresh(refresh, client: "api", secret: secret)
            #expect(refreshed.status == 200, "\(refreshed.status)")
            #expect(keyID(of: try #require(refreshed.string("access_token"))) == replacementKID)
            let event = try #require(try await cli.store.recentEvents(count: 20).last { $0.type == HallpassStore.keyWithdrawnEvent })
            #expect(event.detail.hasPrefix("kid=\(leakedKID) replacement=\(replacementKID)"))

            // A key that does not sign now needs no KEK and gets no replacement.
            let announced = try document(try await cli.run(["--json", "keys", "rotate", "--kek-file", kek.path]))
            let announcedKID = try #require(announced.objectValue?["kid"]?.stringValue)
            let human = try await cli.run(["keys", "withdraw", "--kid", announcedKID])
            #expect(human.status == 0 && human.standardOutput.hasPrefix("withdrew \(announcedKID)"), "\(human.standardOutput)")
            #expect(!human.standardOutput.contains("new key"))
            #expect(try await cli.store.signingKeys().map(\.keyID) == [replacementKID])
        }
    }

    @Test("events shows the log newest last, filters by user and type, and --follow prints later events until Ctrl-C")
    func events() async throws {
        try await withCLI { cli in
            #expect(try await cli.run(["users", "add", "erin", "--password-stdin"], input: "pw\n").status == 0)
            #expect(try await cli.run(["clients", "add", "early", "--public"]).status == 0)
            let all = try #require(try document(try await cli.run(["--json", "events"])).arrayValue)
            #expect(all.compactMap { $0.objectValue?["type"]?.stringValue } == ["user_created", "client_added"])
            #expect(all.first?.objectValue?["user"] == "erin")
            let filtered = try #require(try document(try await cli.run(["--json", "events", "--user", "erin"])).arrayValue)
            #expect(filtered.count == 1)
            let byType = try #require(try document(try await cli.run(["events", "--json", "--type", "client_added"])).arrayValue)
            #expect(byType.compactMap { $0.objectValue?["detail"]?.stringValue } == ["early"])
            let table = try await cli.run(["events"])
            #expect(table.standardOutput.hasPrefix("TIME"))
            #expect(table.standardOutput.split(separator: "\n").count == 3)
            #expect(try await cli.run(["events", "--user", "ghost"]).status == 1)

            let follower = try StreamingProcess(
                try CLIFixture.binary(), ["--redis", cli.url, "events", "--follow", "--type", "client_added"])
            #expect(try await eventually(15) { follower.standardError.contains("following") }, "\(follower.standardError)")
            #expect(follower.standardOutput.contains("early"))
            #expect(!follower.standardOutput.contains("late"))
            #expect(try await cli.run(["clients", "add", "late", "--public"]).status == 0)
            #expect(try await cli.run(["users", "add", "filtered-out", "--password-stdin"], input: "pw\n").status == 0)
            #expect(try await eventually(10) { follower.standardOutput.contains("late") }, "\(follower.standardOutput)")
            follower.interrupt()
            #expect(try await follower.waitForExit(seconds: 10) == 0, "\(follower.standardError)")
            let lines = follower.standardOutput.split(separator: "\n")
            #expect(lines.count == 2, "\(follower.standardOutput)")
            #expect(lines.last?.contains("client_added") == true)
            #expect(!follower.standardOutput.contains("filtered-out"))

            let jsonFollower = try StreamingProcess(try CLIFixture.binary(), ["--redis", cli.url, "--json", "events", "--follow", "--count", "0"])
            #expect(try await eventually(15) { jsonFollower.standardError.contains("following") })
            #expect(try await cli.run(["logout", "erin"]).status == 0)
            #expect(try await eventually(10) { jsonFollower.standardOutput.contains("\n") })
            jsonFollower.interrupt()
            #expect(try await jsonFollower.waitForExit(seconds: 10) == 0)
            let objects = try jsonFollower.standardOutput.split(separator: "\n").map { try JSONParser.parse(Array($0.utf8)) }
            #expect(objects.count == 1, "\(jsonFollower.standardOutput)")
            #expect(objects.first?.objectValue?["user"] == "erin")
        }
    }

    @Test("works against a Redis that needs an ACL user, with no hub running")
    func aclUser() async throws {
        let redis = try await RedisTestServer.start()
        defer { Task { await redis.stop() } }
        let admin = RedisClient(
            configuration: try RedisConfiguration(url: redis.url),
            logger: Logger(label: "acl", factory: { _ in SwiftLogNoOpLogHandler() }))
        _ = try await admin.send(RedisCommand("ACL", "SETUSER", "ops", "on", ">ops secret", "~hp:*", "+@all"))
        _ = try await admin.send(RedisCommand("ACL", "SETUSER", "default", "off"))
        await admin.shutdown()
        let url = "redis://ops:ops%20secret@127.0.0.1:\(redis.port)/0"
        let binary = try CLIFixture.binary()
        let added = try await runProcess(binary, ["--redis", url, "users", "add", "fay", "--password-stdin"], input: "pw\n")
        #expect(added.status == 0, "\(added.standardError)")
        for arguments in [["users", "list"], ["keys", "rotate", "--activate-now"], ["keys", "list"], ["policy", "show"], ["sessions", "list"],
            ["logout", "fay"], ["events"]]
        {
            let result = try await runProcess(binary, ["--redis", url] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.standardError)")
        }
        let refused = try await runProcess(binary, ["--redis", "redis://127.0.0.1:\(redis.port)/0", "users", "list"])
        #expect(refused.status == 1)
        #expect(refused.standardError.split(separator: "\n").count == 1, "\(refused.standardError)")
    }
}

/// What the background loop of ``OpsCommandTests/rotationUnderLoad(mode:)`` saw.
final class RotationLoad: Sendable {
    private struct State {
        var verified = 0
        var kids: Set<String> = []
        var failures: [String] = []
        var maximumJWKSSize = 0
        var refetches = 0
    }

    private let state = Mutex(State())

    func record(kid: String, failure: String?) {
        state.withLock { state in
            if let failure { state.failures.append(failure) } else { state.verified += 1 }
            state.kids.insert(kid)
        }
    }

    func record(jwksSize: Int) { state.withLock { $0.maximumJWKSSize = max($0.maximumJWKSSize, jwksSize) } }
    func record(refetch: Bool) { state.withLock { $0.refetches += 1 } }

    var verified: Int { state.withLock { $0.verified } }
    var kids: Set<String> { state.withLock { $0.kids } }
    var failures: [String] { state.withLock { $0.failures } }
    var maximumJWKSSize: Int { state.withLock { $0.maximumJWKSSize } }
    var refetches: Int { state.withLock { $0.refetches } }
}
