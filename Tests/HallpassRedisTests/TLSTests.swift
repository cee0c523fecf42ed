import HallpassRedis
import HallpassTestSupport
import Logging
import NIOPosix
import Testing

/// One throwaway PKI for every test of this process (a few `openssl` runs).
actor TestCertificatesForRedisTests {
    private static let instance = TestCertificatesForRedisTests()
    private var made: TestCertificates?

    static func shared() async throws -> TestCertificates {
        try await instance.get()
    }

    private func get() async throws -> TestCertificates {
        if let made { return made }
        let certificates = try await TestCertificates.make()
        made = certificates
        return certificates
    }
}

@Suite("TLS to Redis: verified round trips and handshake failures that say why", .serialized)
struct TLSTests {
    /// Starts a TLS-only Redis with `certificate` (signed by the test CA unless it is the other
    /// host's or the expired one, which are too), runs `body`, stops it.
    private func withTLSServer(
        certificate: KeyPath<TestCertificates, String> = \.serverCertificateFile,
        requiresClientCertificates: Bool = false,
        _ body: (RedisTestServer, TestCertificates) async throws -> Void
    ) async throws {
        let certificates = try await TestCertificatesForRedisTests.shared()
        let server = try await RedisTestServer.start(
            tls: .init(
                certificateFile: certificates[keyPath: certificate], keyFile: certificates.serverKeyFile,
                caFile: certificates.caFile, requiresClientCertificates: requiresClientCertificates))
        do {
            try await body(server, certificates)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    private func connect(
        _ url: String, caFile: String?, certificateFile: String? = nil, keyFile: String? = nil
    ) async throws -> RedisConnection {
        var configuration = try RedisConfiguration(url: url, caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
        configuration.connectTimeout = .seconds(30)
        return try await RedisConnection.connect(
            to: configuration, on: MultiThreadedEventLoopGroup.singleton.next(), logger: quietLogger)
    }

    /// The reason a connect fails with, checking that it failed fast and as a TLS failure.
    private func failure(
        _ url: String, caFile: String?, certificateFile: String? = nil, keyFile: String? = nil
    ) async throws -> RedisTLSFailure? {
        let started = ContinuousClock.now
        do {
            let connection = try await connect(url, caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
            await connection.close()
            Issue.record("connected to \(url) although it should have failed")
            return nil
        } catch RedisError.tlsHandshakeFailed(let address, let reason) {
            #expect(ContinuousClock.now - started < .seconds(20), "a TLS failure must not wait for the 30 s connect timeout")
            #expect(address.hasPrefix("127.0.0.1:") || address.hasPrefix("localhost:"))
            return reason
        } catch {
            Issue.record("expected a TLS handshake failure, got \(error)")
            return nil
        }
    }

    @Test("a rediss:// round trip with the test CA, through a RedisClient")
    func roundTrip() async throws {
        try await withTLSServer { server, certificates in
            var configuration = try RedisConfiguration(
                url: server.url, caFile: certificates.caFile, certificateFile: nil, keyFile: nil)
            configuration.connectTimeout = .seconds(30)
            let client = RedisClient(configuration: configuration, logger: quietLogger)
            let key = uniqueKey("tls")
            _ = try await client.send(RedisCommand("SET", key, "over TLS"))
            #expect(try await client.send(RedisCommand("GET", key)) == bulk("over TLS"))
            let dedicated = try await client.makeDedicatedConnection()
            #expect(try await dedicated.send(RedisCommand("GET", key)) == bulk("over TLS"))
            await dedicated.close()
            await client.shutdown()
        }
    }

    @Test("localhost matches the certificate's DNS name, sent as SNI")
    func hostName() async throws {
        try await withTLSServer { server, certificates in
            let connection = try await connect("rediss://localhost:\(server.port)", caFile: certificates.caFile)
            #expect(try await connection.send(RedisCommand("PING")) == .simpleString("PONG"))
            await connection.close()
        }
    }

    @Test("a server certificate from another CA: not trusted")
    func wrongCA() async throws {
        try await withTLSServer { server, certificates in
            let otherCA = try await failure(server.url, caFile: certificates.otherCAFile)
            #expect(otherCA == .untrustedCertificate)
            // Without --redis-ca-file the system's roots do not know the test CA either.
            let systemRoots = try await failure(server.url, caFile: nil)
            #expect(systemRoots == .untrustedCertificate)
        }
    }

    @Test("an expired server certificate: expired")
    func expired() async throws {
        try await withTLSServer(certificate: \.expiredServerCertificateFile) { server, certificates in
            let reason = try await failure(server.url, caFile: certificates.caFile)
            #expect(reason == .expiredCertificate)
            #expect(
                RedisError.tlsHandshakeFailed(address: "127.0.0.1:\(server.port)", reason: .expiredCertificate).description
                    == "TLS handshake with 127.0.0.1:\(server.port) failed: certificate has expired")
        }
    }

    @Test("a certificate for another host name: name mismatch")
    func hostMismatch() async throws {
        try await withTLSServer(certificate: \.otherHostCertificateFile) { server, certificates in
            let byAddress = try await failure(server.url, caFile: certificates.caFile)
            #expect(byAddress == .hostnameMismatch(expected: "127.0.0.1"))
            let byName = try await failure("rediss://localhost:\(server.port)", caFile: certificates.caFile)
            #expect(byName == .hostnameMismatch(expected: "localhost"))
        }
    }

    @Test("rediss:// to a plaintext Redis: not TLS at all")
    func plaintextServer() async throws {
        let certificates = try await TestCertificatesForRedisTests.shared()
        let server = try await RedisTestServer.start()
        let reason = try await failure("rediss://127.0.0.1:\(server.port)", caFile: certificates.caFile)
        // A password-protected one answers PING with -NOAUTH: still plaintext RESP.
        let protected = try await RedisTestServer.start(password: "pw")
        let protectedReason = try await failure("rediss://127.0.0.1:\(protected.port)", caFile: certificates.caFile)
        await protected.stop()
        #expect(protectedReason == .notTLS)
        await server.stop()
        #expect(reason == .notTLS)
    }

    @Test("a server that requires client certificates: works with one, refuses without")
    func clientCertificates() async throws {
        try await withTLSServer(requiresClientCertificates: true) { server, certificates in
            let connection = try await connect(
                server.url, caFile: certificates.caFile, certificateFile: certificates.clientCertificateFile,
                keyFile: certificates.clientKeyFile)
            #expect(try await connection.send(RedisCommand("PING")) == .simpleString("PONG"))
            await connection.close()

            // With TLS 1.3 the refusal comes after the client's side of the handshake: as the
            // server's alert, or as a reset that overtook it.
            let reason = try await failure(server.url, caFile: certificates.caFile)
            switch reason {
            case .rejectedByServer, .closedAfterHandshake: break
            default: Issue.record("expected the server to refuse the handshake, got \(String(describing: reason))")
            }
        }
    }

    @Test("rediss+sentinel://: the Sentinel and the master it names are reached over TLS and verified; a wrong CA says which Sentinel and why")
    func sentinelOverTLS() async throws {
        try await withTLSServer { master, certificates in
            let sentinel = try await RedisSentinelTestServer.start(masterPort: master.port, tls: master.tls)
            do {
                #expect(sentinel.url.hasPrefix("rediss+sentinel://"))
                var configuration = try RedisConfiguration(url: sentinel.url, caFile: certificates.caFile, certificateFile: nil, keyFile: nil)
                configuration.connectTimeout = .seconds(30)
                let client = RedisClient(configuration: configuration, logger: quietLogger)
                let key = uniqueKey("sentinel-tls")
                _ = try await client.send(RedisCommand("SET", key, "through a TLS Sentinel"))
                let dedicated = try await client.makeDedicatedConnection()
                #expect(try await dedicated.send(RedisCommand("ROLE")).array?.first == bulk("master"))
                await dedicated.close()
                await client.shutdown()
                // The write is on the master itself.
                let direct = try await connect(master.url, caFile: certificates.caFile)
                #expect(try await direct.send(RedisCommand("GET", key)) == bulk("through a TLS Sentinel"))
                await direct.close()

                var wrong = try RedisConfiguration(url: sentinel.url, caFile: certificates.otherCAFile, certificateFile: nil, keyFile: nil)
                wrong.connectTimeout = .seconds(15)
                let error = try await #require(throws: RedisError.self) {
                    _ = try await RedisConnection.connect(to: wrong, on: MultiThreadedEventLoopGroup.singleton.next(), logger: quietLogger)
                }
                guard case .sentinel(.noSentinelReachable(let service, let reasons)) = error else {
                    Issue.record("expected noSentinelReachable, got \(error)")
                    await sentinel.stop()
                    return
                }
                #expect(service == "mymaster" && reasons.count == 1)
                #expect(reasons.first?.hasPrefix("127.0.0.1:\(sentinel.port): TLS handshake with 127.0.0.1:\(sentinel.port) failed") == true, "\(reasons)")
                #expect(!error.description.contains("\n"))
                // A plaintext Sentinel URL against the TLS Sentinel fails too, and does not hang.
                var plain = try testConfiguration(url: "redis+sentinel://127.0.0.1:\(sentinel.port)/mymaster")
                plain.connectTimeout = .seconds(3)
                await #expect(throws: RedisError.self) {
                    _ = try await RedisConnection.connect(to: plain, on: MultiThreadedEventLoopGroup.singleton.next(), logger: quietLogger)
                }
            } catch {
                await sentinel.stop()
                throw error
            }
            await sentinel.stop()
        }
    }

    @Test("rediss+cluster://: every master is reached over TLS and verified, commands and pipelines follow the slots; a wrong CA names the TLS failure")
    func clusterOverTLS() async throws {
        let certificates = try await TestCertificatesForRedisTests.shared()
        let cluster = try await RedisClusterTestServer.start(
            masters: 3, replicasPerMaster: 0,
            tls: .init(
                certificateFile: certificates.serverCertificateFile, keyFile: certificates.serverKeyFile, caFile: certificates.caFile,
                outgoingCertificate: (certificates.clientCertificateFile, certificates.clientKeyFile)))
        do {
            #expect(cluster.url.hasPrefix("rediss+cluster://"))
            var configuration = try RedisConfiguration(url: cluster.url, caFile: certificates.caFile, certificateFile: nil, keyFile: nil)
            configuration.connectTimeout = .seconds(30)
            let client = RedisClient(configuration: configuration, logger: quietLogger)
            let keys = schemaTags.map { "hp:{\($0)}:tls:\(UInt64.random(in: 0...UInt64.max))" }
            let writes = try await client.pipeline(keys.map { RedisCommand("SET", $0, $0) })
            #expect(writes.allSatisfy { (try? $0.get()) == .simpleString("OK") }, "\(writes)")
            let reads = try await client.pipeline(keys.map { RedisCommand("GET", $0) })
            #expect(reads.map { try? $0.get() } == keys.map { bulk($0) })
            let masters = Set(try await client.placement(ofKeys: keys).compactMap(\.node))
            #expect(masters.count == 3)
            let dedicated = try await client.makeDedicatedConnections(forKeys: keys)
            #expect(dedicated.count == 3)
            for node in dedicated {
                #expect(try await node.connection.send(RedisCommand("GET", node.keys[0])) == bulk(node.keys[0]))
                await node.connection.close()
            }
            await client.shutdown()

            var wrong = try RedisConfiguration(url: cluster.url, caFile: certificates.otherCAFile, certificateFile: nil, keyFile: nil)
            wrong.connectTimeout = .seconds(15)
            let refused = RedisClient(configuration: wrong, logger: quietLogger)
            let error = try await #require(throws: RedisError.self) { try await refused.send(RedisCommand("GET", keys[0])) }
            await refused.shutdown()
            #expect(error.description.contains("TLS handshake with 127.0.0.1:"), "\(error)")
            #expect(error.description.contains("certificate is not trusted"), "\(error)")
            #expect(!error.description.contains("\n"))
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}
