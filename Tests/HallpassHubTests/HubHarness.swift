import AsyncHTTPClient
import Foundation
import HallpassHub
import HallpassJOSE
import HallpassPasswords
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Testing

/// A hub running in this process on a port the system picked, over its own `redis-server`.
struct HubFixture: Sendable {
    let baseURL: String
    let port: Int
    let redis: RedisTestServer
    let store: HallpassStore
    let configuration: HubConfiguration

    /// Cheap Argon2id parameters for seeding test users quickly; the hub verifies any PHC
    /// string by its own parameters, so these still exercise the real code.
    static let fastPasswords = Argon2Parameters(memoryKiB: 1024, iterations: 1, parallelism: 1)

    /// Creates a user with `password`.
    @discardableResult
    func addUser(_ username: String, password: String, name: String = "", email: String = "") async throws -> UserRecord {
        let phc = try PasswordHasher(parameters: Self.fastPasswords).hash(password)
        return try await store.createUser(username: username, passwordHash: phc, name: name, email: email, actor: "test")
    }

    /// Registers a client; returns its secret (nil for a public client).
    @discardableResult
    func addClient(
        _ id: String, confidential: Bool = true, grants: [String] = ["password", "refresh_token"]
    ) async throws -> String? {
        try await store.createClient(id: id, confidential: confidential, grantTypes: grants, actor: "test").secret
    }

    /// `POST path` with a form body; Basic auth when `basic` is given.
    func post(
        _ path: String, form: [(String, String)], basic: (String, String)? = nil, bearer: String? = nil,
        contentType: String = "application/x-www-form-urlencoded", rawBody: [UInt8]? = nil
    ) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        if let (id, secret) = basic {
            let pair = "\(formEncode(id)):\(formEncode(secret))"
            request.headers.add(name: "Authorization", value: "Basic " + Data(pair.utf8).base64EncodedString())
        }
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer " + bearer) }
        let body = rawBody ?? Array(form.map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&").utf8)
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await HTTPReply(HTTPClient.shared.execute(request, timeout: .seconds(30)))
    }

    /// `GET path`, with a bearer token when given.
    func get(_ path: String, bearer: String? = nil) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: path.hasPrefix("http") ? path : baseURL + path)
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer " + bearer) }
        return try await HTTPReply(HTTPClient.shared.execute(request, timeout: .seconds(30)))
    }

    /// A password login; returns the token response.
    func login(_ username: String, password: String, client: String, secret: String?, scope: String? = nil) async throws -> HTTPReply {
        var form = [("grant_type", "password"), ("username", username), ("password", password)]
        if let scope { form.append(("scope", scope)) }
        if let secret { return try await post("/oauth2/token", form: form, basic: (client, secret)) }
        return try await post("/oauth2/token", form: form + [("client_id", client)])
    }

    /// A refresh grant.
    func refresh(_ token: String, client: String, secret: String?) async throws -> HTTPReply {
        let form = [("grant_type", "refresh_token"), ("refresh_token", token)]
        if let secret { return try await post("/oauth2/token", form: form, basic: (client, secret)) }
        return try await post("/oauth2/token", form: form + [("client_id", client)])
    }

    /// RFC 7662 introspection by a confidential client.
    func introspect(_ token: String, client: String, secret: String) async throws -> HTTPReply {
        try await post("/oauth2/introspect", form: [("token", token)], basic: (client, secret))
    }
}

/// An HTTP response, body parsed as JSON when it is JSON.
struct HTTPReply: Sendable {
    let status: Int
    let headers: [(String, String)]
    let body: [UInt8]

    init(_ response: HTTPClientResponse) async throws {
        status = Int(response.status.code)
        headers = response.headers.map { ($0.name, $0.value) }
        body = Array(buffer: try await response.body.collect(upTo: 1 << 20))
    }

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var json: JSONValue? { try? JSONParser.parse(body) }
    subscript(member: String) -> JSONValue? { json?.objectValue?[member] }
    func string(_ member: String) -> String? { self[member]?.stringValue }
    var text: String { String(decoding: body, as: UTF8.self) }
}

func formEncode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}

let quietLogger: Logger = {
    var logger = Logger(label: "hallpass.hub.test")
    logger.logLevel = .critical
    return logger
}()

/// Runs `body` against a fresh hub over a fresh `redis-server`, then stops both.
func withHub(
    configure: (inout HubConfiguration) -> Void = { _ in },
    redis existing: RedisTestServer? = nil,
    _ body: @Sendable (HubFixture) async throws -> Void
) async throws {
    let redis: RedisTestServer
    if let existing {
        redis = existing
    } else {
        redis = try await RedisTestServer.start()
    }
    var configuration = HubConfiguration()
    configuration.host = "127.0.0.1"
    configuration.port = 0
    configuration.redisURL = redis.url
    configuration.passwordParameters = HubFixture.fastPasswords
    configuration.passwordHashingThreads = 2
    configure(&configuration)
    try await runHub(configuration, redis: redis) { fixture in
        try await body(fixture)
    }
    if existing == nil { await redis.stop() }
}

/// Runs a hub with `configuration` while `body` runs.
func runHub(
    _ configuration: HubConfiguration, redis: RedisTestServer, _ body: @Sendable (HubFixture) async throws -> Void
) async throws {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = try Hub.application(configuration: configuration, logger: quietLogger) { port in
        continuation.yield(port)
    }
    let client = RedisClient(configuration: try RedisConfiguration(url: redis.url), logger: quietLogger)
    defer { Task { await client.shutdown() } }
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestSupportErrorBox(description: "hub did not start") }
        var issuer = configuration
        issuer.port = port
        let fixture = HubFixture(
            baseURL: "http://127.0.0.1:\(port)", port: port, redis: redis, store: HallpassStore(redis: client),
            configuration: configuration)
        // The first start generates the signing key in the background; wait until it signs.
        try await waitUntil("hub ready") { try await fixture.get("/readyz").status == 200 }
        do {
            try await body(fixture)
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
    }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func waitUntil(_ what: String, seconds: Double = 20, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestSupportErrorBox(description: "timed out waiting for \(what)")
}

/// A unique name for test data.
func unique(_ prefix: String) -> String { prefix + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 36) }
