import Foundation
import HallpassHub
import HallpassTestSupport
import NIOCore
import Testing

/// Issue 19: the hub keeps serving ordinary requests while clients abuse their connections,
/// closes the abusive ones, and gives their file descriptors back. Limits are set short so the
/// tests are quick; speed under abuse is measured by `ops/bench abuse`, not asserted here.
@Suite("Abusive connections", .serialized)
struct AbusiveConnectionTests {
    /// Short limits: seconds rather than the defaults' minutes.
    static func shortLimits(_ configuration: inout HubConfiguration) {
        configuration.connectionLimits.idleTimeout = 30
        configuration.connectionLimits.headerTimeout = 2
        configuration.connectionLimits.maximumHeaderBytes = 4096
        configuration.connectionLimits.maximumHeaderCount = 20
    }

    /// An ordinary request is answered 200: one on a new connection of its own (which the hub
    /// must still accept), and one through the shared HTTP client's pool.
    static func expectServed(_ hub: HubFixture, _ comment: Comment) async throws {
        try await expectServed(port: hub.port, comment)
    }

    static func expectServed(port: Int, _ comment: Comment) async throws {
        let fresh = try await RawConnection.open(port: port)
        try await fresh.send("GET /healthz HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
        _ = try await fresh.untilClosed()
        #expect(fresh.statusCodes == [200], comment)
        let reply = try await HubFixture.plainGet("http://127.0.0.1:\(port)/healthz")
        #expect(reply.status == 200, comment)
    }

    @Test("a thousand idle keep-alive connections: ordinary requests are served, the idle ones closed after the idle timeout, descriptors given back")
    func thousandIdleConnections() async throws {
        FileDescriptorLimit.raiseToHardLimit()
        try await withHub(configure: {
            Self.shortLimits(&$0)
            $0.connectionLimits.idleTimeout = 10
        }) { hub in
            try await Self.expectServed(hub, "before")
            let baseline = try openFileDescriptors()
            var idle: [RawConnection] = []
            for index in 0..<1000 {
                let connection = try await RawConnection.open(port: hub.port)
                // Every other one has a request answered first: a keep-alive connection
                // proper. Sent at once: opening a thousand may take longer than the idle
                // timeout on a busy machine.
                if index % 2 == 0 { try await connection.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n") }
                idle.append(connection)
            }
            let opened = ContinuousClock.now
            for round in 0..<20 { try await Self.expectServed(hub, "ordinary request \(round) with 1000 idle connections open") }
            #expect(idle.filter(\.isClosed).count < 1000, "idle connections were closed before the idle timeout")
            try await waitUntil("the idle connections closed", seconds: 10 + 20) { idle.allSatisfy(\.isClosed) }
            // Generous: the idle timeout plus a loaded machine.
            #expect(ContinuousClock.now - opened < .seconds(10 + 15))
            #expect(idle.enumerated().filter { $0.offset % 2 == 0 }.allSatisfy { $0.element.statusCodes == [200] })
            try await Self.expectServed(hub, "after")
            try await waitUntil("file descriptors back to the baseline", seconds: 10) { try openFileDescriptors() <= baseline + 4 }
        }
    }

    @Test("slowloris: headers sent a byte at a time are cut off after the header timeout; idle keep-alive connections are not")
    func slowloris() async throws {
        try await withHub(configure: Self.shortLimits) { hub in
            try await Self.expectServed(hub, "before")
            let baseline = try openFileDescriptors()
            // An idle connection that has sent nothing, and one that finished a request: the
            // header timeout is not theirs (the idle timeout, 30 s here, is).
            let quiet = try await RawConnection.open(port: hub.port)
            let served = try await RawConnection.open(port: hub.port)
            try await served.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")

            var opening: [RawConnection] = []
            for _ in 0..<200 { opening.append(try await RawConnection.open(port: hub.port)) }
            let slow = opening
            let started = ContinuousClock.now
            let trickle = Task {
                let head = Array("GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Slow: ".utf8)
                var index = 0
                while !Task.isCancelled, !slow.allSatisfy(\.isClosed) {
                    let byte = index < head.count ? String(UnicodeScalar(head[index])) : "a"
                    for connection in slow where !connection.isClosed { try? await connection.send(byte) }
                    index += 1
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            defer { trickle.cancel() }
            for round in 0..<10 { try await Self.expectServed(hub, "ordinary request \(round) during slowloris") }
            try await waitUntil("the slow connections closed", seconds: 2 + 15) { slow.allSatisfy(\.isClosed) }
            #expect(ContinuousClock.now - started < .seconds(2 + 10), "slow connections outlived the header timeout by far")
            #expect(slow.allSatisfy { $0.statusCodes.isEmpty }, "a slow client got an answer")
            #expect(!quiet.isClosed, "an idle connection was closed by the header timeout")
            #expect(!served.isClosed, "a keep-alive connection was closed by the header timeout")
            #expect(served.statusCodes == [200])
            try await Self.expectServed(hub, "after")
            let metrics = try await hub.get("/metrics").text
            #expect(connectionsClosed(metrics, reason: "header_timeout") >= 200)
            await quiet.close()
            await served.close()
            try await waitUntil("file descriptors back to the baseline", seconds: 10) { try openFileDescriptors() <= baseline + 4 }
        }
    }

    @Test("an oversized header line or too many headers get 431 and the connection closed; a head within the limits is served")
    func oversizedHeads() async throws {
        try await withHub(configure: Self.shortLimits) { hub in
            let longLine = try await RawConnection.open(port: hub.port)
            try await longLine.send("GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Big: \(String(repeating: "a", count: 8000))\r\n\r\n")
            _ = try await longLine.untilClosed()
            #expect(longLine.statusCodes == [431], "\(longLine.text.prefix(200))")

            let many = try await RawConnection.open(port: hub.port)
            let headers = (1...30).map { "X-Header-\($0): v\r\n" }.joined()
            try await many.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\(headers)\r\n")
            _ = try await many.untilClosed()
            #expect(many.statusCodes == [431], "\(many.text.prefix(200))")

            // Just inside both limits, on a connection that stays open.
            let fits = try await RawConnection.open(port: hub.port)
            let allowed = (1...15).map { "X-Header-\($0): v\r\n" }.joined()
            try await fits.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\(allowed)X-Big: \(String(repeating: "a", count: 3000))\r\n\r\n")
            try await waitUntil("the request within the limits answered") { fits.statusCodes == [200] }
            #expect(!fits.isClosed)
            await fits.close()

            let metrics = try await hub.get("/metrics").text
            #expect(connectionsClosed(metrics, reason: "header_too_large") == 2)
            try await Self.expectServed(hub, "after")
        }
    }

    @Test("a request with both Content-Length and Transfer-Encoding gets 400 and the connection closed; the request smuggled in its body is not answered")
    func contentLengthWithTransferEncoding() async throws {
        try await withHub(configure: Self.shortLimits) { hub in
            let smuggled = "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n"
            let heads = [
                "POST /oauth2/token HTTP/1.1\r\nHost: hub\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                "POST /oauth2/token HTTP/1.1\r\nHost: hub\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n",
            ]
            for head in heads {
                let connection = try await RawConnection.open(port: hub.port)
                try await connection.send(head + "0\r\n\r\n" + smuggled)
                _ = try await connection.untilClosed()
                #expect(connection.statusCodes == [400], "\(connection.text)")
            }
            try await Self.expectServed(hub, "after")
        }
    }

    @Test("pipelined garbage gets 400 and the connection closed after the good requests before it are answered")
    func pipelinedGarbage() async throws {
        try await withHub(configure: Self.shortLimits) { hub in
            let good = "GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n"
            let pipelined = try await RawConnection.open(port: hub.port)
            try await pipelined.send(good + good + "\u{1}\u{7f}GARBAGE \\ HTTP/9\r\n\r\n" + good)
            _ = try await pipelined.untilClosed()
            #expect(pipelined.statusCodes == [200, 200, 400], "\(pipelined.text)")

            var noise = SystemRandomNumberGenerator()
            let bytes = (0..<65536).map { _ in UInt8.random(in: 0...255, using: &noise) }
            let random = try await RawConnection.open(port: hub.port)
            try await random.channel.writeAndFlush(ByteBuffer(bytes: bytes)).get()
            _ = try await random.untilClosed()
            #expect(random.statusCodes.allSatisfy { $0 == 400 }, "\(random.text.prefix(200))")
            try await Self.expectServed(hub, "after")
        }
    }

    @Test("beyond --max-connections new connections get 503 and are closed at once; ordinary ones are served again once others close")
    func maximumConnections() async throws {
        try await withHub(configure: {
            Self.shortLimits(&$0)
            $0.connectionLimits.maximumConnections = 50
        }) { hub in
            var connections: [RawConnection] = []
            for _ in 0..<60 { connections.append(try await RawConnection.open(port: hub.port)) }
            try await waitUntil("the connections over the limit refused") { connections.filter(\.isClosed).count >= 10 }
            let refused = connections.filter(\.isClosed)
            #expect(refused.allSatisfy { $0.statusCodes == [503] })
            #expect(connections.filter { !$0.isClosed }.count <= 50)
            let extra = try await RawConnection.open(port: hub.port)
            _ = try await extra.untilClosed(seconds: 5)
            #expect(extra.statusCodes == [503])

            for connection in connections { await connection.close() }
            let fresh = try await RawConnection.open(port: hub.port)
            try await fresh.send("GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n")
            try await waitUntil("an ordinary request served once the others closed") { fresh.statusCodes == [200] }
            await fresh.close()
            let metrics = try await hub.get("/metrics").text
            #expect(connectionsClosed(metrics, reason: "max_connections") >= 11)
        }
    }

    @Test("the hallpass-hub process raises its open files limit, takes the limit flags, and its descriptors return to their baseline after abuse")
    func hubProcess() async throws {
        let redis = try await RedisTestServer.start()
        var started: HubProcess?
        do {
            let hub = try await HubProcess.start(
                redisURL: redis.url,
                arguments: ["--connection-idle-timeout", "3", "--header-timeout", "2", "--max-header-count", "20", "--log-level", "warning"],
                environment: ["HALLPASS_MAX_CONNECTIONS": "200"])
            started = hub
            let proc = "/proc/\(hub.processIdentifier)"
            let limits = try String(contentsOfFile: proc + "/limits", encoding: .utf8)
            let openFiles = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max open files") })
            let values = openFiles.split(separator: " ").dropFirst(3).prefix(2)
            #expect(values.count == 2 && values.first == values.last, "soft limit not raised to the hard one: \(openFiles)")

            try await Self.expectServed(port: hub.port, "before")
            let baseline = try FileManager.default.contentsOfDirectory(atPath: proc + "/fd").count

            var abusive: [RawConnection] = []
            for index in 0..<500 {
                let connection = try await RawConnection.open(port: hub.port)
                switch index % 5 {
                case 0: try? await connection.send("GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Slow: ")
                case 1: try? await connection.send("GET /healthz HTTP/1.1\r\n" + (1...30).map { "X-\($0): v\r\n" }.joined() + "\r\n")
                case 2: try? await connection.send("\u{1}garbage\r\n\r\n")
                default: break
                }
                abusive.append(connection)
            }
            try await waitUntil("the abusive connections closed", seconds: 3 + 20) { abusive.allSatisfy(\.isClosed) }
            #expect(abusive.contains { $0.statusCodes == [503] }, "none of 500 connections was refused at 200")
            // Opened one after another, the first 150 are within the 200 admitted.
            #expect(abusive.prefix(150).enumerated().filter { $0.offset % 5 == 1 }.allSatisfy { $0.element.statusCodes == [431] })
            try await Self.expectServed(port: hub.port, "after")
            // The shared HTTP client may hold one more pooled connection than before.
            try await waitUntil("the hub's descriptors back to the baseline", seconds: 10) {
                try FileManager.default.contentsOfDirectory(atPath: proc + "/fd").count <= baseline + 1
            }
            let metrics = try await HubFixture.plainGet(hub.baseURL + "/metrics").text
            for reason in ["max_connections", "header_timeout", "header_too_large", "bad_request"] {
                #expect(connectionsClosed(metrics, reason: reason) > 0, "no \(reason) closures counted")
            }
        } catch {
            await started?.stop()
            await redis.stop()
            throw error
        }
        await started?.stop()
        await redis.stop()
    }

    @Test(
        "hallpass-hub refuses limit flags and variables out of range as usage errors naming them",
        arguments: [
            (["--max-connections", "0"], [String: String](), "--max-connections must be 1-1000000"),
            ([], ["HALLPASS_HEADER_TIMEOUT": "0"], "--header-timeout must be 1-300 seconds"),
            ([], ["HALLPASS_MAX_HEADER_BYTES": "lots"], "HALLPASS_MAX_HEADER_BYTES=lots is not a valid value"),
        ])
    func limitUsageErrors(arguments: [String], environment: [String: String], fragment: String) async throws {
        var inherited = ProcessInfo.processInfo.environment
        inherited.merge(environment) { $1 }
        let result = try await runProcess(
            try HubProcess.executable(), ["--redis", "redis://127.0.0.1:1/0", "--port", "1"] + arguments, environment: inherited)
        #expect(result.status == 64, "exit \(result.status): \(result.standardError)")
        #expect(result.standardError.contains(fragment), "\(result.standardError)")
    }

    @Test("limits out of range are refused at start, and --max-connections is lowered to fit the open files limit")
    func limitValidation() throws {
        var limits = ConnectionLimits()
        #expect(limits.effectiveMaximumConnections(fileDescriptorLimit: 1024) == 1024 - ConnectionLimits.reservedFileDescriptors)
        #expect(limits.effectiveMaximumConnections(fileDescriptorLimit: 1_048_576) == 4096)
        limits.maximumConnections = 10
        #expect(limits.effectiveMaximumConnections(fileDescriptorLimit: 1024) == 10)

        let broken: [(String, (inout ConnectionLimits) -> Void)] = [
            ("--max-connections must be 1-1000000", { $0.maximumConnections = 0 }),
            ("--connection-idle-timeout must be 1-3600 seconds", { $0.idleTimeout = 0 }),
            ("--header-timeout must be 1-300 seconds", { $0.headerTimeout = 301 }),
            ("--max-header-bytes must be 1024-1048576", { $0.maximumHeaderBytes = 100 }),
            ("--max-header-count must be 8-10000", { $0.maximumHeaderCount = 2 }),
        ]
        for (message, breakIt) in broken {
            var configuration = HubConfiguration()
            breakIt(&configuration.connectionLimits)
            #expect(throws: HubConfiguration.Problem.invalid(message)) { try configuration.validate() }
        }
    }
}
