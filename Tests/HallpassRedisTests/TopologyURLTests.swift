import HallpassRedis
import Testing

@Suite("Redis URL forms: rediss, Sentinel, Cluster; TLS options")
struct TopologyURLTests {
    @Test func redissTurnsTLSOn() throws {
        let configuration = try RedisConfiguration(url: "rediss://alice:s3cret@cache.internal:6390/2")
        #expect(configuration.topology == .server)
        #expect(configuration.tls == RedisTLSConfiguration())
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6390)
        #expect(configuration.database == 2)
        #expect(configuration.redactedURL == "rediss://alice:***@cache.internal:6390/2")
        #expect(try RedisConfiguration(url: "redis://h").tls == nil)
        #expect(try RedisConfiguration(url: "REDISS://h").tls != nil)
    }

    @Test func sentinelWithServiceAndDatabase() throws {
        let configuration = try RedisConfiguration(url: "redis+sentinel://u:pw@s1:26380,s2,[::1]:26381/mymaster/3")
        #expect(
            configuration.topology
                == .sentinel(
                    sentinels: [
                        RedisEndpoint(host: "s1", port: 26380), RedisEndpoint(host: "s2", port: 26379),
                        RedisEndpoint(host: "::1", port: 26381),
                    ],
                    service: "mymaster"))
        #expect(configuration.username == "u")
        #expect(configuration.password == "pw")
        #expect(configuration.database == 3)
        #expect(configuration.tls == nil)
        #expect(configuration.redactedURL == "redis+sentinel://u:***@s1:26380,s2:26379,[::1]:26381/mymaster/3")
    }

    @Test func sentinelDefaultsAndTLS() throws {
        let configuration = try RedisConfiguration(url: "rediss+sentinel://s1:26379/svc")
        #expect(configuration.topology == .sentinel(sentinels: [RedisEndpoint(host: "s1", port: 26379)], service: "svc"))
        #expect(configuration.database == 0)
        #expect(configuration.tls != nil)
        #expect(try RedisConfiguration(url: "redis+sentinel://s1/svc/").database == 0)
    }

    @Test func clusterSeeds() throws {
        let configuration = try RedisConfiguration(url: "rediss+cluster://:pw@n1:7000,n2:7001")
        #expect(
            configuration.topology
                == .cluster(seeds: [RedisEndpoint(host: "n1", port: 7000), RedisEndpoint(host: "n2", port: 7001)]))
        #expect(configuration.tls != nil)
        #expect(configuration.redactedURL == "rediss+cluster://:***@n1:7000,n2:7001")
        #expect(try RedisConfiguration(url: "redis+cluster://n1").topology == .cluster(seeds: [RedisEndpoint(host: "n1", port: 6379)]))
    }

    @Test(arguments: [
        ("redis://h1:1,h2:2/0", "one server"),
        ("redis+sentinel://", "no Sentinel address"),
        ("redis+sentinel:///svc", "no Sentinel address"),
        ("redis+sentinel://s1,,s2/svc", "empty Sentinel address"),
        ("redis+sentinel://s1", "service name"),
        ("redis+sentinel://s1/", "service name"),
        ("redis+sentinel://s1:0/svc", "invalid port"),
        ("redis+sentinel://:26379/svc", "missing host"),
        ("redis+sentinel://s1/svc/x", "invalid database"),
        ("redis+sentinel://s1/svc/1/2", "unexpected path"),
        ("redis+sentinel://s1/svc?db=1", "query strings"),
        ("redis+cluster://", "no Cluster node address"),
        ("redis+cluster://n1,", "empty Cluster node address"),
        ("redis+cluster://n1:x", "invalid port"),
        ("redis+cluster://n1/1", "only database 0"),
        ("rediss://", "missing host"),
        ("rediss://h:99999", "invalid port"),
        ("redis+foo://h", "expected a URL starting with"),
    ])
    func rejectsMalformedURLs(url: String, fragment: String) throws {
        let error = try #require(throws: RedisError.self) { try RedisConfiguration(url: "\(url)") }
        guard case .invalidURL(let detail) = error else {
            Issue.record("expected invalidURL, got \(error)")
            return
        }
        #expect(detail.contains(fragment), "\(detail)")
    }

    @Test func credentialsNeverInMessages() throws {
        for url in ["redis+sentinel://u:hunter2@s1,,s2/svc", "rediss+cluster://u:hunter2@n1:x", "rediss://u:hunter2@h:0"] {
            let error = try #require(throws: RedisError.self) { try RedisConfiguration(url: url) }
            #expect(!"\(error)".contains("hunter2"))
        }
        let configuration = try RedisConfiguration(url: "redis+sentinel://u:hunter2@s1/svc")
        #expect(!configuration.redactedURL.contains("hunter2"))
        #expect(!String(reflecting: configuration).contains("hunter2"))
    }

    @Test func startupAcceptsPlaintextSentinel() throws {
        let configuration = try RedisConfiguration(
            url: "redis+sentinel://s1/svc", caFile: nil, certificateFile: nil, keyFile: nil, sentinelPassword: "x")
        #expect(configuration.sentinelPassword == "x")
    }

    @Test func startupAcceptsClusterWithAndWithoutTLS() throws {
        let plain = try RedisConfiguration(url: "redis+cluster://u:p@n1:7000,n2", caFile: nil, certificateFile: nil, keyFile: nil)
        #expect(plain.topology == .cluster(seeds: [RedisEndpoint(host: "n1", port: 7000), RedisEndpoint(host: "n2", port: 6379)]))
        #expect(plain.tls == nil && plain.username == "u" && plain.password == "p")
        let tls = try RedisConfiguration(url: "rediss+cluster://n1:7000", caFile: nil, certificateFile: nil, keyFile: nil)
        #expect(tls.tls != nil)
    }

    @Test func tlsFilesNeedARedissURL() throws {
        let error = try #require(throws: RedisError.self) {
            try RedisConfiguration(url: "redis://u:hunter2@h", caFile: "/nonexistent/ca.pem", certificateFile: nil, keyFile: nil)
        }
        #expect(error == .invalidTLSSetting(.caFile, "applies to TLS only, but the Redis URL is not rediss:// (redis://u:***@h:6379/0)"))
        #expect(error.description.hasPrefix("--redis-ca-file: "))
        // Empty values (an exported but empty variable) count as not given.
        let plain = try RedisConfiguration(url: "redis://h", caFile: "", certificateFile: "", keyFile: "")
        #expect(plain.tls == nil)
    }

    @Test func badTLSFileCombinationsNameTheOption() async throws {
        let certificates = try await TestCertificatesForRedisTests.shared()
        func setting(_ caFile: String?, _ certificateFile: String?, _ keyFile: String?) -> RedisTLSConfiguration.Setting? {
            do throws(RedisError) {
                _ = try RedisConfiguration(url: "rediss://127.0.0.1:1", caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
                return nil
            } catch .invalidTLSSetting(let setting, _) {
                return setting
            } catch {
                return nil
            }
        }
        #expect(setting(nil, certificates.clientCertificateFile, nil) == .keyFile)
        #expect(setting(nil, nil, certificates.clientKeyFile) == .certificateFile)
        #expect(setting("/nonexistent/ca.pem", nil, nil) == .caFile)
        #expect(setting(certificates.clientKeyFile, nil, nil) == .caFile)  // a key is no certificate
        #expect(setting(nil, "/nonexistent/client.crt", certificates.clientKeyFile) == .certificateFile)
        #expect(setting(nil, certificates.clientCertificateFile, "/nonexistent/client.key") == .keyFile)
        // The server's key does not match the client's certificate.
        #expect(setting(nil, certificates.clientCertificateFile, certificates.serverKeyFile) == .keyFile)
        let good = try RedisConfiguration(
            url: "rediss://127.0.0.1:1", caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile,
            keyFile: certificates.clientKeyFile)
        #expect(good.tls?.caFile == certificates.caFile)
        #expect(good.tls?.keyFile == certificates.clientKeyFile)
    }
}
