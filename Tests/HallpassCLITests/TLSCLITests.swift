import Foundation
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

/// The `hallpass` binary against a TLS-only `redis-server`, with the test PKI.
@Suite("Ops CLI over TLS (rediss://)", .serialized)
struct TLSCLITests {
    private func withTLSRedis(_ body: (RedisTestServer, TestCertificates, HallpassStore) async throws -> Void) async throws {
        let certificates = try await TestCertificates.make()
        let server = try await RedisTestServer.start(
            tls: .init(
                certificateFile: certificates.serverCertificateFile, keyFile: certificates.serverKeyFile,
                caFile: certificates.caFile))
        let client = try testRedisClient(url: server.url, caFile: certificates.caFile)
        do {
            try await body(server, certificates, HallpassStore(redis: client))
        } catch {
            await client.shutdown()
            await server.stop()
            certificates.remove()
            throw error
        }
        await client.shutdown()
        await server.stop()
        certificates.remove()
    }

    private func hallpass(_ arguments: [String], environment: [String: String]? = nil) async throws -> ProcessOutput {
        try await runProcess(try CLIFixture.binary(), arguments, environment: environment)
    }

    @Test("users list over rediss:// with --redis-ca-file, or HALLPASS_REDIS_CA_FILE")
    func listsUsers() async throws {
        try await withTLSRedis { server, certificates, store in
            _ = try await store.createUser(username: "tls-alice", passwordHash: "$argon2id$unused", actor: "test")
            let listed = try await hallpass(["--redis", server.url, "--redis-ca-file", certificates.caFile, "users", "list"])
            #expect(listed.status == 0, "\(listed.standardError)")
            #expect(listed.standardOutput.contains("tls-alice"))

            let byEnvironment = try await hallpass(
                ["users", "list"],
                environment: ["HALLPASS_REDIS_URL": server.url, "HALLPASS_REDIS_CA_FILE": certificates.caFile])
            #expect(byEnvironment.status == 0, "\(byEnvironment.standardError)")
            #expect(byEnvironment.standardOutput.contains("tls-alice"))

            // The flag wins over the variable.
            let flagWins = try await hallpass(
                ["--redis", server.url, "--redis-ca-file", certificates.caFile, "users", "list"],
                environment: ["HALLPASS_REDIS_CA_FILE": certificates.otherCAFile])
            #expect(flagWins.status == 0, "\(flagWins.standardError)")
        }
    }

    @Test("a wrong CA: exit 1 and one line saying the certificate is not trusted")
    func wrongCA() async throws {
        try await withTLSRedis { server, certificates, _ in
            let result = try await hallpass(["--redis", server.url, "--redis-ca-file", certificates.otherCAFile, "users", "list"])
            #expect(result.status == 1)
            #expect(result.standardOutput.isEmpty)
            let lines = result.standardError.split(separator: "\n")
            #expect(lines.count == 1, "\(result.standardError)")
            #expect(
                result.standardError.contains(
                    "TLS handshake with 127.0.0.1:\(server.port) failed: certificate is not trusted (unknown CA)"),
                "\(result.standardError)")
        }
    }

    @Test("bad TLS options and URLs are usage errors (exit 2) naming what is wrong")
    func usageErrors() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let cases: [([String], String)] = [
            (["--redis", "rediss://127.0.0.1:1", "--redis-cert-file", certificates.clientCertificateFile], "--redis-key-file"),
            (["--redis", "rediss://127.0.0.1:1", "--redis-ca-file", "/nonexistent/ca.pem"], "--redis-ca-file"),
            (["--redis", "redis://127.0.0.1:1", "--redis-ca-file", certificates.caFile], "--redis-ca-file"),
            (["--redis", "redis+sentinel://127.0.0.1:26379"], "service name"),
        ]
        for (arguments, fragment) in cases {
            let result = try await hallpass(arguments + ["users", "list"])
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
            #expect(result.standardError.contains(fragment), "\(arguments): \(result.standardError)")
        }
    }
}
