import AsyncHTTPClient
import Foundation
import Hallpass
import HallpassHub
import HallpassJOSE
import HallpassPasswords
import HallpassStore
import HallpassTestSupport
import Hummingbird
import NIOCore
import Testing

@Suite("Validator: tokens and revocations from a real hub running in-process", .serialized)
struct HubRevocationTests {
    @Test("a hub's access token validates; hub logout and RFC 7009 revocation reach the validator", arguments: RedisTopologyUnderTest.underTest)
    func hubRevocations(topology: RedisTopologyUnderTest) async throws {
        let fixture = try await ValidatorFixture.start(topology: topology)
        defer { Task { await fixture.stop() } }
        let phc = try PasswordHasher(parameters: Argon2Parameters(memoryKiB: 1024, iterations: 1, parallelism: 1)).hash("pw-bob-1")
        _ = try await fixture.store.createUser(username: "bob", passwordHash: phc, actor: "test")
        let secret = try #require(try await fixture.store.createClient(
            id: ValidatorFixture.audience, confidential: true, grantTypes: ["password", "refresh_token"], actor: "test").secret)

        var configuration = HubConfiguration()
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.issuer = ValidatorFixture.issuer
        configuration.redisURL = fixture.redisURL
        configuration.durableReplicas = fixture.deployment?.durableReplicas ?? 0
        configuration.passwordParameters = Argon2Parameters(memoryKiB: 1024, iterations: 1, parallelism: 1)
        configuration.singleLoginPolicy = .off
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try Hub.application(configuration: configuration, logger: quietLogger) { continuation.yield($0) }
        let hub = Task {
            defer { continuation.finish() }
            try await app.runService(gracefulShutdownSignals: [])
        }
        defer { hub.cancel() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let base = "http://127.0.0.1:\(port)"

        @Sendable func post(_ path: String, _ form: String, bearer: String? = nil) async throws -> (Int, JSONValue?) {
            var request = HTTPClientRequest(url: base + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            if let bearer {
                request.headers.add(name: "Authorization", value: "Bearer " + bearer)
            } else {
                request.headers.add(name: "Authorization", value: "Basic " + Data("\(ValidatorFixture.audience):\(secret)".utf8).base64EncodedString())
            }
            request.body = .bytes(ByteBuffer(string: form))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), try? JSONParser.parse(Array(buffer: body)))
        }
        @Sendable func login() async throws -> String {
            var answer: (Int, JSONValue?) = (0, nil)
            try await waitUntil("hub login", seconds: 30) {
                answer = try await post("/oauth2/token", "grant_type=password&username=bob&password=pw-bob-1&scope=openid")
                return answer.0 == 200
            }
            return try #require(answer.1?.objectValue?["access_token"]?.stringValue)
        }

        try await running(try fixture.validator()) { validator in
            let first = try await login()
            let identity = try validator.validate(first)
            #expect(identity.username == nil || identity.username == "bob")
            #expect(identity.clientID == ValidatorFixture.audience)

            // Logout at the hub ends the session.
            let (logout, _) = try await post("/oauth2/logout", "", bearer: first)
            #expect(logout == 204)
            try await waitUntil("hub logout") { refusal(validator, first) == .revoked(.session) }

            // RFC 7009 revocation of an access token revokes its jti.
            let second = try await login()
            #expect(refusal(validator, second) == nil)
            let (revoke, _) = try await post("/oauth2/revoke", "token=\(second)")
            #expect(revoke == 200)
            try await waitUntil("hub revocation") { refusal(validator, second) == .revoked(.token) }
        }
        hub.cancel()
        _ = try? await hub.value
    }
}
