import Foundation
import HallpassJOSE
import HallpassPasswords
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Logging
import Testing

/// Runs the built `hallpass` binary against a private `redis-server`, the way an admin does.
///
/// Serialized: each test starts a `redis-server` and child processes that hash with Argon2id;
/// run all at once, on two cores, they starve the timing-sensitive suites running alongside.
@Suite("Ops CLI: users and clients", .serialized)
struct CLITests {
    @Test("users add --password-stdin --json prints {id, username}; the store holds an OWASP Argon2id hash of the line", arguments: RedisTopologyUnderTest.underTest)
    func usersAdd(topology: RedisTopologyUnderTest) async throws {
        try await withCLI(topology: topology) { cli in
            let added = try await cli.run(
                ["--json", "users", "add", "alice", "--password-stdin", "--name", "Alice Example", "--email", "alice@example.test"],
                input: "correct horse battery\nthis second line is not read\n")
            #expect(added.status == 0, "\(added.standardError)")
            #expect(added.standardError.isEmpty, "\(added.standardError)")
            let document = try #require(try JSONParser.parse(Array(added.standardOutput.utf8)).objectValue)
            #expect(Set(document.keys) == ["id", "username"])
            #expect(document["username"]?.stringValue == "alice")
            let id = try #require(document["id"]?.stringValue)

            let user = try #require(try await cli.store.user(named: "alice"))
            #expect(user.id == id)
            #expect(user.name == "Alice Example")
            #expect(user.email == "alice@example.test")
            #expect(!user.isDisabled)
            let phc = try Argon2idHash(phc: user.passwordHash)
            #expect(Argon2Parameters.owasp.isSatisfied(by: phc.parameters))
            #expect(try PasswordHasher().verify("correct horse battery", against: user.passwordHash))
            #expect(!(try PasswordHasher().verify("this second line is not read", against: user.passwordHash)))
            #expect(!added.standardOutput.contains("correct horse"))
        }
    }

    @Test("a line ending in CRLF or with no line ending at all is the password without the ending")
    func passwordLineEndings() async throws {
        try await withCLI { cli in
            #expect(try await cli.run(["users", "add", "crlf", "--password-stdin"], input: "pw one\r\n").status == 0)
            #expect(try await cli.run(["users", "add", "bare", "--password-stdin"], input: "pw two").status == 0)
            let crlf = try #require(try await cli.store.user(named: "crlf"))
            let bare = try #require(try await cli.store.user(named: "bare"))
            #expect(try PasswordHasher().verify("pw one", against: crlf.passwordHash))
            #expect(try PasswordHasher().verify("pw two", against: bare.passwordHash))
        }
    }

    @Test("adding an existing user exits 1 with one line on stderr, whatever the case of the name")
    func duplicateUser() async throws {
        try await withCLI { cli in
            #expect(try await cli.run(["users", "add", "bob", "--password-stdin"], input: "first\n").status == 0)
            let again = try await cli.run(["users", "add", "BOB", "--password-stdin"], input: "second\n")
            #expect(again.status == 1)
            #expect(again.standardOutput.isEmpty)
            #expect(again.standardError.hasSuffix("\n"))
            #expect(again.standardError.dropLast().split(separator: "\n").count == 1, "\(again.standardError)")
            #expect(again.standardError.contains("exists"))
            let user = try #require(try await cli.store.user(named: "bob"))
            #expect(try PasswordHasher().verify("first", against: user.passwordHash))
        }
    }

    @Test("an empty password is refused with exit 1 and nothing is stored")
    func emptyPassword() async throws {
        try await withCLI { cli in
            for input in ["\n", ""] {
                let result = try await cli.run(["users", "add", "empty", "--password-stdin"], input: input)
                #expect(result.status == 1)
                #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
            }
            #expect(try await cli.store.user(named: "empty") == nil)
        }
    }

    @Test("bad usage exits 2 with the usage on stderr", arguments: [
        ["users", "add"],
        ["users", "add", "bad name!", "--password-stdin"],
        ["users", "add", "-- leading", "--password-stdin"],
        ["users", "add", "carol", "--password-stdin", "--email", "not-an-address"],
        ["users", "frobnicate"],
        ["users", "list", "--no-such-flag"],
        ["clients", "add"],
        ["clients", "add", "app", "--grant", "implicit"],
        ["clients", "add", "app", "--redirect-uri", "/relative"],
        ["clients", "add", "app", "--redirect-uri", "https://app.example/cb#fragment"],
        ["clients", "add", "app", "--backchannel-logout-uri", "com.example.app:/logout"],
        ["clients", "add", "-app"],
        ["clients", "add", "svc", "--public", "--grant", "client_credentials"],
        ["clients", "add", "svc", "--grant", "client_credentials", "--public"],
        ["--redis", "http://127.0.0.1:6379", "users", "list"],
    ])
    func badUsage(arguments: [String]) async throws {
        try await withCLI { cli in
            let result = try await cli.run(arguments, input: "pw\n")
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
            #expect(result.standardOutput.isEmpty)
            #expect(result.standardError.contains("Usage:") || result.standardError.contains("Error:"), "\(result.standardError)")
            #expect(try await cli.store.users().isEmpty)
            #expect(try await cli.store.clients().isEmpty)
        }
    }

    @Test("-- ends the options")
    func doubleDash() async throws {
        try await withCLI { cli in
            let added = try await cli.run(["--json", "users", "add", "--password-stdin", "--", "dave"], input: "pw\n")
            #expect(added.status == 0, "\(added.standardError)")
            #expect(try await cli.store.user(named: "dave") != nil)
            // After --, "--json" is the username, which is not a valid one.
            let refused = try await cli.run(["users", "add", "--password-stdin", "--", "--json"], input: "pw\n")
            #expect(refused.status == 2)
        }
    }

    @Test("clients add --json prints a secret for a confidential client that verifies, and none for a public one", arguments: RedisTopologyUnderTest.underTest)
    func clientsAdd(topology: RedisTopologyUnderTest) async throws {
        try await withCLI(topology: topology) { cli in
            let confidential = try await cli.run(["clients", "add", "api", "--json"])
            #expect(confidential.status == 0, "\(confidential.standardError)")
            let document = try #require(try JSONParser.parse(Array(confidential.standardOutput.utf8)).objectValue)
            #expect(Set(document.keys) == ["client_id", "client_secret"])
            #expect(document["client_id"]?.stringValue == "api")
            let secret = try #require(document["client_secret"]?.stringValue)
            #expect(!secret.hasPrefix("-"))
            let stored = try #require(try await cli.store.client(id: "api"))
            #expect(stored.isConfidential)
            #expect(stored.verifySecret(secret))
            #expect(!stored.verifySecret(secret + "x"))
            #expect(stored.grantTypes == ["password", "refresh_token", "authorization_code"])

            let publicClient = try await cli.run([
                "--json", "clients", "add", "spa", "--public", "--grant", "authorization_code", "--grant", "refresh_token",
                "--redirect-uri", "http://127.0.0.1:8401/callback", "--redirect-uri", "com.example.app:/cb",
                "--post-logout-redirect-uri", "http://127.0.0.1:8401/", "--backchannel-logout-uri", "http://127.0.0.1:8401/bcl",
            ])
            #expect(publicClient.status == 0, "\(publicClient.standardError)")
            let publicDocument = try #require(try JSONParser.parse(Array(publicClient.standardOutput.utf8)).objectValue)
            #expect(Set(publicDocument.keys) == ["client_id"])
            let spa = try #require(try await cli.store.client(id: "spa"))
            #expect(!spa.isConfidential)
            #expect(spa.grantTypes == ["authorization_code", "refresh_token"])
            #expect(spa.redirectURIs == ["http://127.0.0.1:8401/callback", "com.example.app:/cb"])
            #expect(spa.postLogoutRedirectURIs == ["http://127.0.0.1:8401/"])
            #expect(spa.backchannelLogoutURI == "http://127.0.0.1:8401/bcl")

            let duplicate = try await cli.run(["clients", "add", "api"])
            #expect(duplicate.status == 1)
            #expect(duplicate.standardError.split(separator: "\n").count == 1, "\(duplicate.standardError)")
            #expect(try await cli.store.client(id: "api")?.verifySecret(secret) == true)
        }
    }

    @Test("users list and clients list --json print arrays without password hashes or secrets", arguments: RedisTopologyUnderTest.underTest)
    func lists(topology: RedisTopologyUnderTest) async throws {
        try await withCLI(topology: topology) { cli in
            let emptyUsers = try await cli.run(["--json", "users", "list"])
            #expect(emptyUsers.status == 0)
            #expect(try JSONParser.parse(Array(emptyUsers.standardOutput.utf8)) == .array([]))

            for name in ["zed", "amy"] {
                #expect(try await cli.run(["users", "add", name, "--password-stdin"], input: "pw-\(name)\n").status == 0)
            }
            let secret = try await cli.run(["--json", "clients", "add", "api"]).standardOutput

            let users = try await cli.run(["users", "list", "--json"])
            #expect(users.status == 0, "\(users.standardError)")
            let array = try #require(try JSONParser.parse(Array(users.standardOutput.utf8)).arrayValue)
            #expect(array.compactMap { $0.objectValue?["username"]?.stringValue } == ["amy", "zed"])
            let amy = try #require(try await cli.store.user(named: "amy"))
            #expect(array.first?.objectValue?["id"]?.stringValue == amy.id)
            #expect(array.first?.objectValue?["disabled"]?.boolValue == false)
            #expect(!users.standardOutput.contains("argon2"))

            let clients = try await cli.run(["--json", "clients", "list"])
            #expect(clients.status == 0)
            let clientArray = try #require(try JSONParser.parse(Array(clients.standardOutput.utf8)).arrayValue)
            #expect(clientArray.compactMap { $0.objectValue?["client_id"]?.stringValue } == ["api"])
            #expect(clientArray.first?.objectValue?["client_type"]?.stringValue == "confidential")
            let generated = try #require(try JSONParser.parse(Array(secret.utf8)).objectValue?["client_secret"]?.stringValue)
            #expect(!clients.standardOutput.contains(generated))

            let table = try await cli.run(["users", "list"])
            #expect(table.status == 0)
            let lines = table.standardOutput.split(separator: "\n")
            #expect(lines.count == 3)
            #expect(lines.first?.hasPrefix("USERNAME") == true)
        }
    }

    @Test("HALLPASS_REDIS_URL stands in for --redis; the flag wins")
    func environmentFallback() async throws {
        try await withCLI { cli in
            #expect(try await cli.run(["users", "add", "erin", "--password-stdin"], input: "pw\n").status == 0)
            let fromEnvironment = try await runProcess(
                try CLIFixture.binary(), ["--json", "users", "list"], environment: ["HALLPASS_REDIS_URL": cli.url])
            #expect(fromEnvironment.status == 0, "\(fromEnvironment.standardError)")
            #expect(fromEnvironment.standardOutput.contains("erin"))
            let flagWins = try await runProcess(
                try CLIFixture.binary(), ["--redis", cli.url, "--json", "users", "list"],
                environment: ["HALLPASS_REDIS_URL": "redis://127.0.0.1:1/0"])
            #expect(flagWins.status == 0, "\(flagWins.standardError)")
            let malformed = try await runProcess(
                try CLIFixture.binary(), ["users", "list"], environment: ["HALLPASS_REDIS_URL": "http://127.0.0.1:6379"])
            #expect(malformed.status == 2)
            #expect(malformed.standardError.contains("HALLPASS_REDIS_URL"), "\(malformed.standardError)")
        }
    }

    @Test("an unreachable Redis exits 1 with one line naming it")
    func unreachableRedis() async throws {
        let port = try freeLoopbackPort()
        let result = try await runProcess(
            try CLIFixture.binary(), ["--redis", "redis://127.0.0.1:\(port)/0", "users", "add", "frank", "--password-stdin"],
            input: "pw\n")
        #expect(result.status == 1)
        #expect(result.standardOutput.isEmpty)
        #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
        #expect(result.standardError.contains("127.0.0.1:\(port)"), "\(result.standardError)")
    }

    @Test("events name the CLI user as the actor")
    func actor() async throws {
        try await withCLI { cli in
            let result = try await runProcess(
                try CLIFixture.binary(), ["--redis", cli.url, "clients", "add", "audited", "--public"],
                environment: ["USER": "ops-admin"])
            #expect(result.status == 0, "\(result.standardError)")
            let events = try await cli.store.recentEvents(count: 10)
            #expect(events.contains { $0.type == "client_added" && $0.actor == "cli:ops-admin" }, "\(events)")
        }
    }
}

/// A private Redis (of a ``RedisTopologyUnderTest``), a store over it, and a way to run the
/// CLI against it.
struct CLIFixture: Sendable {
    /// A server to talk to directly: the single server, the Sentinel's master, a cluster's first master.
    let redis: RedisTestServer
    /// What the CLI and hubs are given as `--redis`: the deployment's URL.
    let url: String
    let store: HallpassStore
    /// What `--durable-replicas` must say for this deployment (``TopologyFixture/durableReplicas``).
    var durableReplicas: Int = 0
    /// Put before the command by ``run(_:input:)``.
    var extraArguments: [String] = []

    /// The `hallpass` binary of the debug build (`swift build --build-tests` builds it; `ops/test` runs that).
    static func binary(file: StaticString = #filePath) throws -> URL {
        let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = root.appendingPathComponent(".build/debug/hallpass")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TestSupportErrorBox(description: "\(binary.path) is missing: build with `swift build --build-tests` (ops/test does)")
        }
        return binary
    }

    /// Runs `hallpass --redis <this Redis> arguments...`.
    func run(_ arguments: [String], input: String? = nil) async throws -> ProcessOutput {
        try await runProcess(try Self.binary(), ["--redis", url, "--durable-replicas", "\(durableReplicas)"] + extraArguments + arguments, input: input)
    }
}

/// Runs `body` with the CLI pointed at a fresh deployment of `topology` (a single
/// `redis-server` unless told otherwise), and stops every process of it afterwards.
func withCLI(topology: RedisTopologyUnderTest = .single, _ body: (CLIFixture) async throws -> Void) async throws {
    try await withRedisTopology(topology) { deployment in
        var configuration = try RedisConfiguration(url: deployment.url)
        configuration.connectTimeout = .seconds(15)
        let client = RedisClient(
            configuration: configuration, logger: Logger(label: "hallpass.cli.test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let fixture = CLIFixture(
            redis: deployment.server, url: deployment.url, store: HallpassStore(redis: client), durableReplicas: deployment.durableReplicas)
        do {
            try await body(fixture)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}
