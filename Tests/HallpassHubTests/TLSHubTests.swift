import Foundation
import HallpassHub
import HallpassRedis
import HallpassTestSupport
import Testing

@Suite("Hub over TLS (rediss://)", .serialized)
struct TLSHubTests {
    @Test("a hub with --redis-ca-file issues tokens over rediss://")
    func issuesTokens() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let redis = try await RedisTestServer.start(
            tls: .init(
                certificateFile: certificates.serverCertificateFile, keyFile: certificates.serverKeyFile,
                caFile: certificates.caFile))
        do {
            try await withHub(configure: { $0.redisCAFile = certificates.caFile }, redis: redis) { hub in
                let secret = try await hub.addClient("tls-app")
                try await hub.addUser("tls-alice", password: "correct horse")
                let reply = try await hub.login("tls-alice", password: "correct horse", client: "tls-app", secret: secret)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(reply.string("access_token") != nil)
            }
        } catch {
            await redis.stop()
            throw error
        }
        await redis.stop()
    }

    @Test("a hub trusting the wrong CA starts but is not ready (503), and bad TLS options refuse to start")
    func wrongCAAndBadOptions() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let redis = try await RedisTestServer.start(
            tls: .init(
                certificateFile: certificates.serverCertificateFile, keyFile: certificates.serverKeyFile,
                caFile: certificates.caFile))
        var configuration = HubConfiguration.forTests(redis: redis)
        configuration.redisCAFile = certificates.otherCAFile
        do {
            // The fixture's own store client trusts the hub's CA; it is not used here.
            try await runHub(configuration, redis: redis, waitForReadiness: false) { hub in
                let readiness = try await hub.get("/readyz")
                #expect(readiness.status == 503)
            }
        } catch {
            await redis.stop()
            throw error
        }
        await redis.stop()

        var bad = HubConfiguration.forTests(redis: redis)
        bad.redisKeyFile = certificates.clientKeyFile
        #expect(throws: HubConfiguration.Problem.invalid("--redis-cert-file: missing: --redis-key-file needs --redis-cert-file")) {
            try bad.validate()
        }
    }
}

@Suite("hallpass-hub TLS options")
struct HubTLSOptionTests {
    @Test(
        "hallpass-hub refuses bad Redis TLS options with exit 64 naming the problem",
        arguments: [
            (["--redis", "rediss://127.0.0.1:1/0", "--redis-cert-file", "/nonexistent/client.crt"], [String: String](), "--redis-key-file"),
            (["--redis", "rediss://127.0.0.1:1/0"], ["HALLPASS_REDIS_CA_FILE": "/nonexistent/ca.pem"], "--redis-ca-file: cannot read /nonexistent/ca.pem"),
            (["--redis", "redis://127.0.0.1:1/0", "--redis-ca-file", "/nonexistent/ca.pem"], [:], "--redis-ca-file: applies to TLS only"),
        ])
    func usageErrors(arguments: [String], environment: [String: String], fragment: String) async throws {
        var inherited = ProcessInfo.processInfo.environment
        inherited.merge(environment) { $1 }
        let result = try await runProcess(try HubProcess.executable(), ["--port", "1"] + arguments, environment: inherited)
        #expect(result.status == 64, "exit \(result.status): \(result.standardError)")
        #expect(result.standardError.contains(fragment), "\(result.standardError)")
    }
}
