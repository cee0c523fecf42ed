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
    func addUser(
        _ username: String, password: String, name: String = "", email: String = "", emailVerified: Bool = false
    ) async throws -> UserRecord {
        let phc = try PasswordHasher(parameters: Self.fastPasswords).hash(password)
        return try await store.createUser(
            username: username, passwordHash: phc, name: name, email: email, emailVerified: emailVerified, actor: "test")
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
        contentType: String = "application/x-www-form-urlencoded", rawBody: [UInt8]? = nil, headers: [(String, String)] = []
    ) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
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
        try await Self.plainGet(path.hasPrefix("http") ? path : baseURL + path, bearer: bearer)
    }

    /// `GET url`, with a bearer token when given.
    static func plainGet(_ url: String, bearer: String? = nil) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: url)
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

/// Runs `body` against a fresh hub over a fresh `redis-server`, then stops both; with a
/// `topology`, over a fresh deployment of it (the hub and the fixture's store use its URL;
/// ``HubFixture/redis`` is then its direct server, see ``TopologyFixture/server``); with
/// `existing`, over that server, which is left running.
func withHub(
    topology: RedisTopologyUnderTest = .single,
    configure: (inout HubConfiguration) -> Void = { _ in },
    redis existing: RedisTestServer? = nil,
    logger: Logger = quietLogger,
    _ body: @Sendable (HubFixture) async throws -> Void
) async throws {
    if let existing {
        precondition(topology == .single, "an existing server is a single one")
        var configuration = HubConfiguration.forTests(redis: existing)
        configure(&configuration)
        try await runHub(configuration, redis: existing, logger: logger, body)
        return
    }
    // withRedisTopology stops every process, also when the hub or the body fails.
    try await withRedisTopology(topology) { deployment in
        var configuration = HubConfiguration.forTests(redis: deployment.server)
        configuration.redisURL = deployment.url
        configuration.durableReplicas = deployment.durableReplicas
        configure(&configuration)
        try await runHub(configuration, redis: deployment.server, storeURL: deployment.url, logger: logger, body)
    }
}

extension HubConfiguration {
    /// A hub on a port the system picks, over `redis`, hashing with cheap Argon2id parameters.
    static func forTests(redis: RedisTestServer) -> HubConfiguration {
        var configuration = HubConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.redisURL = redis.url
        configuration.passwordParameters = HubFixture.fastPasswords
        configuration.passwordHashingThreads = 2
        return configuration
    }
}

/// Runs a hub with `configuration` while `body` runs. The fixture's store is a client of
/// `storeURL` (a topology's URL), or else of `redis`.
///
/// - Parameter waitForReadiness: Whether to wait until `/readyz` answers 200 (the hub reaches
///   Redis and can sign) before `body`; without it, only until the server answers `/healthz`.
/// - Parameter storeURL: The URL of the fixture's own store client, when `redis.url` will not
///   do: a Redis Cluster's `redis+cluster://` URL, since one node alone answers `MOVED` for
///   most keys.
func runHub(
    _ configuration: HubConfiguration, redis: RedisTestServer, storeURL: String? = nil, waitForReadiness: Bool = true,
    logger: Logger = quietLogger, _ body: @Sendable (HubFixture) async throws -> Void
) async throws {
    // At most a few hubs at once in this process (ConcurrencyGate.hubs says why); a test's
    // second hub runs in the slot of its first.
    try await ConcurrencyGate.hubs.withSlot {
        try await runGatedHub(configuration, redis: redis, storeURL: storeURL, waitForReadiness: waitForReadiness, logger: logger, body)
    }
}

private func runGatedHub(
    _ configuration: HubConfiguration, redis: RedisTestServer, storeURL: String?, waitForReadiness: Bool,
    logger: Logger, _ body: @Sendable (HubFixture) async throws -> Void
) async throws {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = try Hub.application(configuration: configuration, logger: logger) { port in
        continuation.yield(port)
    }
    let client = try testRedisClient(url: storeURL ?? redis.url, caFile: configuration.redisCAFile)
    defer { Task { await client.shutdown() } }
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            // A hub that fails to start (its port is taken) ends the stream, so the wait below
            // fails instead of hanging.
            defer { continuation.finish() }
            try await app.runService(gracefulShutdownSignals: [])
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw HubDidNotStart() }
        var running = configuration
        running.port = port
        let fixture = HubFixture(
            baseURL: "http://127.0.0.1:\(port)", port: port, redis: redis, store: HallpassStore(redis: client),
            configuration: running)
        // The first start generates the signing key in the background; wait until it signs.
        if waitForReadiness {
            try await waitUntil("hub ready", seconds: 20, toleratingErrors: true) { try await fixture.get("/readyz").status == 200 }
        } else {
            try await waitUntil("hub serving", seconds: 20, toleratingErrors: true) { try await fixture.get("/healthz").status == 200 }
        }
        do {
            try await body(fixture)
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
    }
}

/// The hub's server did not come up (typically: its port was taken).
struct HubDidNotStart: Error, CustomStringConvertible {
    var description: String { "hub did not start" }
}

/// Like ``withHub(topology:configure:redis:logger:_:)``, but the hub listens on a port chosen up front and its
/// issuer is its real address, so the URLs in discovery work for an outside client. Tries
/// another port if the chosen one is taken before the hub binds it.
func withAddressedHub(
    configure: (inout HubConfiguration) -> Void = { _ in },
    _ body: @Sendable (HubFixture) async throws -> Void
) async throws {
    for attempt in 1...3 {
        let port = try freeLoopbackPort()
        do {
            try await withHub(configure: { configuration in
                configure(&configuration)
                configuration.port = port
                configuration.issuer = "http://127.0.0.1:\(port)"
            }, body)
            return
        } catch is HubDidNotStart where attempt < 3 {
            continue
        }
    }
}

/// A unique name for test data.
func unique(_ prefix: String) -> String { prefix + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 36) }
