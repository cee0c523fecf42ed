import AsyncHTTPClient
import Foundation
import HallpassJOSE
import HallpassSampleApp
import HallpassStore
import HallpassTestSupport
import NIOCore

/// The package root: this file is <root>/Tests/HallpassSampleAppTests/SampleAppStack.swift.
func packageRoot(file: StaticString = #filePath) -> URL {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// A binary `swift build --build-tests` put in `.build/debug`.
func builtExecutable(_ name: String) throws -> URL {
    let binary = packageRoot().appendingPathComponent(".build/debug/\(name)")
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        throw TestSupportErrorBox(description: "\(binary.path) is missing: build with `swift build --build-tests` first")
    }
    return binary
}

/// A sample app binary run as a child process.
final class AppProcess: @unchecked Sendable {
    // `process` is set once in `init` and only signalled afterwards.
    private let process: Process
    let name: String
    let port: Int
    let log: URL
    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(process: Process, name: String, port: Int, log: URL) {
        self.process = process
        self.name = name
        self.port = port
        self.log = log
    }

    /// Starts `hallpass-NAME` and waits until `/healthz` says its validator is current.
    static func start(
        name: String, port: Int, hubURL: String, redisURL: String, clientSecret: String, peers: [String: Int]
    ) async throws -> AppProcess {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("hallpass-\(name)-\(port)-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = try builtExecutable("hallpass-\(name)")
        process.arguments =
            ["--port", "\(port)", "--hub", hubURL, "--redis", redisURL, "--log-level", "debug"]
            + peers.sorted { $0.key < $1.key }.flatMap { ["--peer", "\($0.key)=http://127.0.0.1:\($0.value)"] }
        process.environment = ProcessInfo.processInfo.environment.merging(["HALLPASS_CLIENT_SECRET": clientSecret]) { $1 }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? handle.close()
        let app = AppProcess(process: process, name: name, port: port, log: log)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, process.isRunning {
            if let reply = try? await HTTP.get(app.baseURL + "/healthz"), reply.status == 200,
                reply.json?["validator"]?.stringValue == "current"
            {
                return app
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let tail = app.logTail()
        await app.stop()
        throw TestSupportErrorBox(description: "hallpass-\(name) did not become ready:\n\(tail)")
    }

    func logTail() -> String {
        String(((try? String(contentsOf: log, encoding: .utf8)) ?? "").suffix(3000))
    }

    func stop() async {
        await terminateChild(process)
        try? FileManager.default.removeItem(at: log)
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Plain HTTP for the tests.
enum HTTP {
    struct Reply: Sendable {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        var json: [String: JSONValue]? { (try? JSONParser.parse(body))?.objectValue }
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    static func get(_ url: String, bearer: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        return try await execute(request)
    }

    static func post(_ url: String, form: [(String, String)], basic: (String, String)? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        if let (id, secret) = basic {
            let credentials = FormEncoding.escape(id) + ":" + FormEncoding.escape(secret)
            request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        }
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(form)))
        return try await execute(request)
    }

    static func execute(_ request: HTTPClientRequest, client: HTTPClient = .shared) async throws -> Reply {
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(buffer: body))
    }
}

/// Redis, the real hub binary, a demo user and the sample apps registered as confidential
/// clients (through the built `hallpass` CLI, as ops/run does) and running as binaries.
final class SampleAppStack: @unchecked Sendable {
    let redis: RedisTestServer
    let hub: HubProcess
    let apps: [AppProcess]
    let cli: URL
    let username = "alice"
    let password: String
    let userID: String
    let secrets: [String: String]

    private init(
        redis: RedisTestServer, hub: HubProcess, apps: [AppProcess], cli: URL, password: String, userID: String, secrets: [String: String]
    ) {
        self.redis = redis
        self.hub = hub
        self.apps = apps
        self.cli = cli
        self.password = password
        self.userID = userID
        self.secrets = secrets
    }

    /// `hallpass --redis URL ARGS...`.
    static func runCLI(_ cli: URL, redisURL: String, _ arguments: [String], input: String? = nil) async throws -> ProcessOutput {
        let output = try await runProcess(cli, ["--redis", redisURL] + arguments, input: input)
        guard output.status == 0 else {
            throw TestSupportErrorBox(description: "hallpass \(arguments.joined(separator: " ")) failed: \(output.standardError)")
        }
        return output
    }

    /// `hubArguments` go to the hub's command line (e.g. `--log-level debug`).
    static func start(apps names: [String], hubArguments: [String] = []) async throws -> SampleAppStack {
        let cli = try builtExecutable("hallpass")
        let redis = try await RedisTestServer.start()
        do {
            let hub = try await HubProcess.start(redisURL: redis.url, arguments: hubArguments)
            do {
                let password = "correct horse \(UUID().uuidString.prefix(6))"
                let added = try await runCLI(
                    cli, redisURL: redis.url, ["--json", "users", "add", "alice", "--password-stdin", "--name", "Alice Demo"],
                    input: password + "\n")
                guard let userID = (try? JSONParser.parse(Array(added.standardOutput.utf8)))?.objectValue?["id"]?.stringValue else {
                    throw TestSupportErrorBox(description: "users add printed \(added.standardOutput)")
                }
                var ports: [String: Int] = [:]
                for name in names { ports[name] = try freeLoopbackPort() }
                var secrets: [String: String] = [:]
                for name in names {
                    let base = "http://127.0.0.1:\(ports[name]!)"
                    let reply = try await runCLI(
                        cli, redisURL: redis.url,
                        [
                            "--json", "clients", "add", name, "--redirect-uri", base + "/callback", "--post-logout-redirect-uri",
                            base + "/signed-out", "--backchannel-logout-uri", base + "/backchannel-logout", "--grant", "authorization_code",
                            "--grant", "refresh_token", "--grant", "password",
                        ])
                    guard let secret = (try? JSONParser.parse(Array(reply.standardOutput.utf8)))?.objectValue?["client_secret"]?.stringValue
                    else { throw TestSupportErrorBox(description: "clients add printed \(reply.standardOutput)") }
                    secrets[name] = secret
                }
                // The apps' validators connect as the read-only ACL user, as under ops/run.
                let validatorPassword = UUID().uuidString
                let acl = try await runProcess(
                    try findExecutable("redis-cli"),
                    ["-p", "\(redis.port)", "ACL", "SETUSER", "hallpass-validator", "reset", "on", ">" + validatorPassword]
                        + StoreSchema.validatorACLRules.split(separator: " ").map(String.init))
                guard acl.status == 0, acl.standardOutput.contains("OK") else {
                    throw TestSupportErrorBox(description: "ACL SETUSER failed: \(acl.standardOutput) \(acl.standardError)")
                }
                let validatorURL = "redis://hallpass-validator:\(validatorPassword)@127.0.0.1:\(redis.port)/0"
                var apps: [AppProcess] = []
                do {
                    for name in names {
                        let peers = ports.filter { $0.key != name }
                        apps.append(
                            try await AppProcess.start(
                                name: name, port: ports[name]!, hubURL: hub.baseURL, redisURL: validatorURL, clientSecret: secrets[name]!,
                                peers: peers))
                    }
                } catch {
                    for app in apps { await app.stop() }
                    throw error
                }
                return SampleAppStack(redis: redis, hub: hub, apps: apps, cli: cli, password: password, userID: userID, secrets: secrets)
            } catch {
                await hub.stop()
                throw error
            }
        } catch {
            await redis.stop()
            throw error
        }
    }

    func app(_ name: String) -> AppProcess { apps.first { $0.name == name }! }

    /// Logs in with the password grant as `client` (the API path; browsers use the code flow).
    func passwordLogin(client: String) async throws -> [String: JSONValue] {
        let reply = try await HTTP.post(
            hub.baseURL + "/oauth2/token",
            form: [("grant_type", "password"), ("username", username), ("password", password), ("scope", "openid profile")],
            basic: (client, secrets[client]!))
        guard reply.status == 200, let json = reply.json else {
            throw TestSupportErrorBox(description: "password login answered \(reply.status): \(reply.text)")
        }
        return json
    }

    /// Everything's logs, for failure messages.
    func logs() -> String {
        (["hub:\n" + hub.logTail()] + apps.map { "\($0.name):\n" + $0.logTail() }).joined(separator: "\n---\n")
    }

    func stop() async {
        for app in apps { await app.stop() }
        await hub.stop()
        await redis.stop()
    }
}
