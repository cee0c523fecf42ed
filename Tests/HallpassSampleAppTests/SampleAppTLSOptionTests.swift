import HallpassSampleApp
import HallpassTestSupport
import Testing

@Suite("Sample apps: Redis TLS options")
struct SampleAppTLSOptionTests {
    private let environment = ["HALLPASS_CLIENT_SECRET": "secret"]

    @Test("the TLS flags and their variables reach the settings; the flag wins")
    func resolves() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let options = try SampleAppOptions.parse(["--redis", "rediss://127.0.0.1:6390/0", "--redis-ca-file", certificates.caFile])
        var environment = self.environment
        environment["HALLPASS_REDIS_CA_FILE"] = certificates.otherCAFile
        environment["HALLPASS_REDIS_CERT_FILE"] = certificates.clientCertificateFile
        environment["HALLPASS_REDIS_KEY_FILE"] = certificates.clientKeyFile
        let settings = try SampleAppSettings(profile: .notes, options: options, environment: environment)
        #expect(settings.redisCAFile == certificates.caFile)
        #expect(settings.redisCertificateFile == certificates.clientCertificateFile)
        #expect(settings.redisKeyFile == certificates.clientKeyFile)
    }

    @Test("a certificate without its key, or TLS files for a plaintext URL, are refused at start naming the option")
    func refuses() throws {
        let cases: [([String], String)] = [
            (["--redis", "rediss://127.0.0.1:6390/0", "--redis-cert-file", "/nonexistent/c.pem"], "--redis-key-file"),
            (["--redis", "redis://127.0.0.1:6379/0", "--redis-ca-file", "/nonexistent/ca.pem"], "--redis-ca-file"),
        ]
        for (arguments, fragment) in cases {
            let options = try SampleAppOptions.parse(arguments)
            let error = try #require(throws: SampleAppSettings.Problem.self) {
                try SampleAppSettings(profile: .notes, options: options, environment: environment)
            }
            #expect(error.description.contains(fragment), "\(error.description)")
        }
    }
}
