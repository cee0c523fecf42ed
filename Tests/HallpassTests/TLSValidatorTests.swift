import Hallpass
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Validator over TLS (rediss://)", .serialized)
struct TLSValidatorTests {
    @Test("a validator with --redis-ca-file validates a token and sees its session end")
    func validatesAndSeesRevocation() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let fixture = try await ValidatorFixture.start(tls: certificates)
        defer { Task { await fixture.stop() } }
        #expect(fixture.server.url.hasPrefix("rediss://"))
        let session = try await fixture.login()
        let token = try fixture.token(session: session.sessionID)
        try await running(try fixture.validator()) { validator in
            #expect(try validator.validate(token).sessionID == session.sessionID)
            try await fixture.store.endSession(session.sessionID, reason: "logout", actor: "test")
            try await waitUntil("session revocation over TLS") { refusal(validator, token) == .revoked(.session) }
        }
    }

    @Test("bad TLS settings are setup errors naming the option")
    func setupErrors() async throws {
        var configuration = HallpassValidator.Configuration(
            issuer: ValidatorFixture.issuer, audience: ValidatorFixture.audience, redisURL: "rediss://127.0.0.1:1/0")
        configuration.redisCertificateFile = "/nonexistent/client.crt"
        let error = try #require(throws: HallpassValidator.SetupError.self) { try HallpassValidator(configuration: configuration) }
        guard case .invalidRedisTLS(let detail) = error else {
            Issue.record("expected invalidRedisTLS, got \(error)")
            return
        }
        #expect(detail.hasPrefix("--redis-"), "\(detail)")
    }
}
