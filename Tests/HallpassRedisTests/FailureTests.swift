import HallpassRedis
import HallpassTestSupport
import NIOPosix
import Testing

@Suite("Failures, timeouts and recovery")
struct FailureTests {
    @Test func killedServerFailsPendingCommandsAndTheClientRecoversAfterRestart() async throws {
        try await withPrivateServer { server async throws in
            var configuration = try testConfiguration(url: server.url)
            configuration.commandTimeout = .seconds(30)
            configuration.reconnectBackoff = .milliseconds(500)...(.seconds(1))
            let client = RedisClient(configuration: configuration, logger: quietLogger)
            let admin = try await RedisConnection.connect(
                to: configuration,
                on: MultiThreadedEventLoopGroup.singleton.next(),
                logger: quietLogger
            )
            try await client.ping()

            // BLPOP 0 never answers, so everything pipelined behind it is still waiting for its
            // reply when the server dies.
            let list = uniqueKey("never-filled")
            let blocked = Task { try await client.send(RedisCommand("BLPOP", list, 0)) }
            try await waitUntil("BLPOP to block", seconds: 10) {
                try await admin.send(RedisCommand("INFO", "clients")).string?.contains("blocked_clients:1") == true
            }
            let counter = uniqueKey("counter")
            let pipelined = Task {
                try await client.pipeline(Array(repeating: RedisCommand("INCR", counter), count: 10_000))
            }
            // The blocked client's query buffer fills once the pipeline is on the wire.
            try await waitUntil("the pipeline to reach the server", seconds: 10) {
                let clients = try await admin.send(RedisCommand("CLIENT", "LIST")).string ?? ""
                return clients.split(separator: "\n").contains { line in
                    clientField("cmd", in: String(line)) == "blpop"
                        && (Int(clientField("qbuf", in: String(line)) ?? "") ?? 0) > 0
                }
            }

            await server.kill()

            await #expect(throws: RedisError.connectionClosed) {
                try await withDeadline(seconds: 10, "BLPOP to fail") { try await blocked.value }
            }
            await #expect(throws: RedisError.connectionClosed) {
                try await withDeadline(seconds: 10, "the pipeline to fail") { try await pipelined.value }
            }
            await #expect(throws: RedisError.connectionClosed) {
                try await withDeadline(seconds: 10, "the admin connection to fail") {
                    try await admin.send(RedisCommand("PING"))
                }
            }
            #expect(!admin.isActive)

            // With the server down, the reconnect fails, and the backoff makes the next call fail
            // fast instead of trying again.
            let refused = try await #require(throws: RedisError.self) { try await client.ping() }
            guard case .connectionFailed = refused else {
                Issue.record("expected connectionFailed, got \(refused)")
                return
            }
            await #expect(throws: RedisError.unavailable) { try await client.ping() }

            try await server.restart()
            try await retryingConnectionErrors(seconds: 10) { try await client.ping() }
            #expect(try await client.send(RedisCommand("INCR", counter)) == .integer(1))
            await client.shutdown()
            await #expect(throws: RedisError.connectionClosed) { try await client.ping() }
        }
    }

    @Test func commandTimeoutClosesTheConnectionAndTheClientRecovers() async throws {
        try await withPrivateServer { server async throws in
            var configuration = try testConfiguration(url: server.url)
            configuration.commandTimeout = .milliseconds(300)
            let client = RedisClient(configuration: configuration, logger: quietLogger)
            // 300 ms is short on a loaded 2-core machine running the suite in parallel; the
            // first ping only establishes the connection, so a slow one is retried.
            try await retryingConnectionErrors(seconds: 10) { try await client.ping() }
            let admin = try await RedisConnection.connect(
                to: try testConfiguration(url: server.url),
                on: MultiThreadedEventLoopGroup.singleton.next(),
                logger: quietLogger
            )
            // The pause must outlast the test's next step by far: on a loaded machine the task can
            // wait over a second to send the GET, and a GET sent after a short pause has ended
            // is simply answered. The pause cannot be lifted early (CLIENT UNPAUSE is paused too).
            #expect(try await admin.send(RedisCommand("CLIENT", "PAUSE", 5000, "ALL")) == .simpleString("OK"))

            await #expect(throws: RedisError.commandTimedOut) {
                try await withDeadline(seconds: 10, "the command to time out") {
                    try await client.send(RedisCommand("GET", uniqueKey("paused")))
                }
            }
            // The reconnect waits for the pause to end (within connectTimeout), then works; 300 ms
            // a ping is tight under pass 1's load (10 s of retries ran out in CI), so it may try
            // for longer: what is tested is that it recovers at all.
            try await retryingConnectionErrors(seconds: 60) { try await client.ping() }
            await client.shutdown()
            await admin.close()
        }
    }

    @Test func onlyOverdueCommandsTimeOutTheOthersFailAsClosed() async throws {
        // A peer that answers the handshake and then nothing: unlike a paused Redis, it cannot
        // start answering because the test was scheduled late on a loaded machine.
        try await withFakePeer(replies: ["+PONG\r\n"]) { port async throws in
            let connection = try await RedisConnection.connect(
                to: RedisConfiguration(host: "127.0.0.1", port: port, connectTimeout: .seconds(10)),
                on: MultiThreadedEventLoopGroup.singleton.next(),
                logger: quietLogger
            )

            // Whichever of the two is queued first, the short deadline fires first and takes the
            // connection down with it; the long-deadline command must not be left hanging.
            let long = Task {
                try await connection.send(RedisCommand("GET", uniqueKey("long")), timeout: .seconds(20))
            }
            let short = Task {
                try await connection.send(RedisCommand("GET", uniqueKey("short")), timeout: .milliseconds(300))
            }
            await #expect(throws: RedisError.commandTimedOut) {
                try await withDeadline(seconds: 10, "the short command") { try await short.value }
            }
            await #expect(throws: RedisError.connectionClosed) {
                try await withDeadline(seconds: 10, "the long command") { try await long.value }
            }
            #expect(!connection.isActive)
        }
    }

    @Test func silentPeerMakesConnectTimeOut() async throws {
        try await withFakePeer { port async throws in
            for password in [nil, "secret"] as [String?] {
                let configuration = RedisConfiguration(
                    host: "127.0.0.1",
                    port: port,
                    password: password,
                    connectTimeout: .milliseconds(400)
                )
                let started = ContinuousClock.now
                await #expect(throws: RedisError.connectTimedOut) {
                    try await withDeadline(seconds: 10, "connect to time out") {
                        try await RedisConnection.connect(
                            to: configuration,
                            on: MultiThreadedEventLoopGroup.singleton.next(),
                            logger: quietLogger
                        )
                    }
                }
                // Not before the timeout; and well before the 10 s guard, so it was the 400 ms
                // timeout that fired. The upper bound is loose: with the suite running on a
                // 2-core CI machine, resuming the task after the timeout has taken 7 s.
                let elapsed = ContinuousClock.now - started
                #expect(elapsed >= .milliseconds(350) && elapsed < .seconds(9), "took \(elapsed)")
            }
        }
    }

    @Test func refusedConnectFailsAndTheClientBacksOff() async throws {
        let port = try freeLoopbackPort()
        let configuration = RedisConfiguration(
            host: "127.0.0.1",
            port: port,
            reconnectBackoff: .seconds(60)...(.seconds(120))
        )
        let error = try await #require(throws: RedisError.self) {
            try await RedisConnection.connect(
                to: configuration,
                on: MultiThreadedEventLoopGroup.singleton.next(),
                logger: quietLogger
            )
        }
        guard case .connectionFailed = error else {
            Issue.record("expected connectionFailed, got \(error)")
            return
        }

        let client = RedisClient(configuration: configuration, logger: quietLogger)
        await #expect(throws: RedisError.self) { try await client.ping() }
        let started = ContinuousClock.now
        await #expect(throws: RedisError.unavailable) { try await client.send(RedisCommand("GET", "k")) }
        // Far less than the 60 s backoff, so it did not wait for it; the margin is for a loaded
        // 2-core CI machine, which has stalled a task for seconds.
        #expect(ContinuousClock.now - started < .seconds(20))
        await client.shutdown()
    }

    @Test func garbageFromThePeerIsAProtocolError() async throws {
        // The connect timeouts are generous: what is tested is the reply, and on a loaded 2-core
        // machine the default 2 s has run out before the fake peer's event loop answered.

        // Something that is not Redis answers the handshake.
        try await withFakePeer(replies: ["HTTP/1.1 400 Bad Request\r\n\r\n"]) { port async throws in
            let error = try await #require(throws: RedisError.self) {
                try await RedisConnection.connect(
                    to: RedisConfiguration(host: "127.0.0.1", port: port, connectTimeout: .seconds(10)),
                    on: MultiThreadedEventLoopGroup.singleton.next(),
                    logger: quietLogger
                )
            }
            guard case .connectionFailed(let detail) = error else {
                Issue.record("expected connectionFailed, got \(error)")
                return
            }
            #expect(detail.contains("RESP"))
        }

        // A peer that answers the handshake, then sends what hiredis 0.14 cannot parse.
        try await withFakePeer(replies: ["+PONG\r\n", "%1\r\n+a\r\n+b\r\n"]) { port async throws in
            let connection = try await RedisConnection.connect(
                to: RedisConfiguration(host: "127.0.0.1", port: port, connectTimeout: .seconds(10)),
                on: MultiThreadedEventLoopGroup.singleton.next(),
                logger: quietLogger
            )
            let error = try await #require(throws: RedisError.self) {
                try await withDeadline(seconds: 10, "the reply") { try await connection.send(RedisCommand("GET", "k")) }
            }
            guard case .protocolError = error else {
                Issue.record("expected protocolError, got \(error)")
                return
            }
            #expect(!connection.isActive)
            await #expect(throws: RedisError.connectionClosed) { try await connection.send(RedisCommand("GET", "k")) }
        }
    }
}
