import HallpassRedis
import HallpassTestSupport
import NIOCore
import NIOPosix
import Testing

@Suite("Authentication, databases and blocking reads")
struct ConnectionTests {
    private func connect(_ configuration: RedisConfiguration) async throws -> RedisConnection {
        try await RedisConnection.connect(
            to: configuration,
            on: MultiThreadedEventLoopGroup.singleton.next(),
            logger: quietLogger
        )
    }

    @Test func passwordsAreChecked() async throws {
        try await withPrivateServer(password: "correct-horse") { server async throws in
            var wrong = try testConfiguration(url: server.url)
            wrong.password = "wrong-battery"
            let rejected = try await #require(throws: RedisError.self) { try await self.connect(wrong) }
            guard case .authenticationFailed(let message) = rejected else {
                Issue.record("expected authenticationFailed, got \(rejected)")
                return
            }
            #expect(message.hasPrefix("WRONGPASS"))
            #expect(!rejected.description.contains("wrong-battery"))
            #expect(!rejected.description.contains("correct-horse"))

            var missing = wrong
            missing.password = nil
            let unauthenticated = try await #require(throws: RedisError.self) { try await self.connect(missing) }
            guard case .authenticationFailed(let noAuth) = unauthenticated else {
                Issue.record("expected authenticationFailed, got \(unauthenticated)")
                return
            }
            #expect(noAuth.hasPrefix("NOAUTH"))

            let connection = try await self.connect(try testConfiguration(url: server.url))
            #expect(try await connection.send(RedisCommand("PING")) == .simpleString("PONG"))
            await connection.close()

            // Password only, no user name: AUTH <password> for the default user.
            let passwordOnly = try await self.connect(
                try testConfiguration(url: "redis://:correct-horse@127.0.0.1:\(server.port)")
            )
            #expect(try await passwordOnly.send(RedisCommand("ACL", "WHOAMI")).string == "default")
            await passwordOnly.close()
        }
    }

    @Test func aclUserAuthenticatesFromTheURL() async throws {
        try await withPrivateServer(password: "admin-pw") { server async throws in
            let admin = try await self.connect(try testConfiguration(url: server.url))
            // A password with characters that must be percent-encoded in the URL.
            let set = try await admin.send(
                RedisCommand("ACL", "SETUSER", "hallpass", "on", ">p@ss:w/rd%", "~*", "+@all")
            )
            #expect(set == .simpleString("OK"))
            await admin.close()

            let user = try await self.connect(
                try testConfiguration(url: "redis://hallpass:p%40ss%3Aw%2Frd%25@127.0.0.1:\(server.port)/0")
            )
            #expect(try await user.send(RedisCommand("ACL", "WHOAMI")).string == "hallpass")
            await user.close()

            let wrong = try await #require(throws: RedisError.self) {
                try await self.connect(try testConfiguration(url: "redis://hallpass:nope@127.0.0.1:\(server.port)/0"))
            }
            guard case .authenticationFailed = wrong else {
                Issue.record("expected authenticationFailed, got \(wrong)")
                return
            }
        }
    }

    @Test func databaseFromTheURLIsSelected() async throws {
        let shared = try sharedConfiguration()
        let credentials = shared.password.map { ":\($0)@" } ?? ""
        let inDatabase3 = try testConfiguration(url: "redis://\(credentials)\(shared.host):\(shared.port)/3")
        #expect(inDatabase3.database == 3)

        let connection = try await self.connect(inDatabase3)
        let info = try #require(try await connection.send(RedisCommand("CLIENT", "INFO")).string)
        #expect(clientField("db", in: info) == "3")

        let key = uniqueKey("db3")
        _ = try await connection.send(RedisCommand("SET", key, "in 3", "EX", 60))
        #expect(try await connection.send(RedisCommand("GET", key)).string == "in 3")
        try await withSharedClient { client async throws in
            #expect(try await client.send(RedisCommand("GET", key)) == .null)
        }
        await connection.close()

        var outOfRange = shared
        outOfRange.database = 100_000
        let error = try await #require(throws: RedisError.self) { try await self.connect(outOfRange) }
        guard case .connectionFailed(let detail) = error else {
            Issue.record("expected connectionFailed, got \(error)")
            return
        }
        #expect(detail.contains("SELECT"))
    }

    @Test func xreadBlockWakesWhenAnotherConnectionAdds() async throws {
        try await withSharedClient { client async throws in
            let stream = uniqueKey("stream")
            let reader = try await client.makeDedicatedConnection()
            let readerID = try #require(try await reader.send(RedisCommand("CLIENT", "ID")).int)

            // A BLOCK timeout answers nil, so an entry in the reply proves the XADD woke it; no
            // stopwatch is needed (one failed CI under load at 4.0 s of a 4 s margin).
            let read = Task {
                try await reader.send(
                    RedisCommand("XREAD", "BLOCK", 60_000, "STREAMS", stream, "$"),
                    timeout: .seconds(90)
                )
            }
            // "$" means entries added after XREAD starts waiting, so add only once it waits.
            try await waitUntil("XREAD to block", seconds: 5) {
                let line = try await client.send(RedisCommand("CLIENT", "LIST", "ID", readerID)).string ?? ""
                return clientField("flags", in: line)?.contains("b") == true
            }
            let id = try #require(try await client.send(RedisCommand("XADD", stream, "*", "user", "42")).string)

            let reply = try await withDeadline(seconds: 30, "XREAD to return") { try await read.value }
            let entry = RedisValue.array([bulk(id), .array([bulk("user"), bulk("42")])])
            #expect(reply == .array([.array([bulk(stream), .array([entry])])]))
            #expect(reader.isActive)
            await reader.close()
        }
    }

    @Test func concurrentFirstCallsShareOneConnect() async throws {
        try await withPrivateServer { server async throws in
            let configuration = try testConfiguration(url: server.url)
            let admin = try await self.connect(configuration)
            let client = RedisClient(configuration: configuration, logger: quietLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<32 {
                    group.addTask { try await client.ping() }
                }
                try await group.waitForAll()
            }
            let clients = try #require(try await admin.send(RedisCommand("CLIENT", "LIST")).string)
            #expect(clients.split(separator: "\n").count == 2, "\(clients)")
            await client.shutdown()
            await admin.close()
        }
    }

    @Test func callersOnAnEventLoopGetAConnectionOnThatLoopAndOthersShareTheFirst() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let client = RedisClient(configuration: try sharedConfiguration(), eventLoopGroup: group, logger: quietLogger)
        let id = RedisCommand("CLIENT", "ID")

        // Tasks of the default executor run on no event loop: they share the first connection.
        let shared = try await client.send(id)
        #expect(try await client.send(id) == shared)
        #expect(try await client.pipeline([id]).first?.get() == shared)

        // A caller running on a loop gets the connection on that loop, the same one each time.
        var perLoop: [RedisValue] = []
        for loop in loops {
            let first = try await onLoop(loop) { try await client.send(id) }
            #expect(try await onLoop(loop) { try await client.send(id) } == first)
            #expect(try await onLoop(loop) { try await client.pipeline([id]).first?.get() } == first)
            #expect(await onLoop(loop) { loop.inEventLoop }, "the test really ran the caller on the loop")
            perLoop.append(first)
        }
        #expect(perLoop[0] == shared, "the first loop's connection is the shared one")
        #expect(perLoop[1] != perLoop[0], "the second loop has a connection of its own")

        await client.shutdown()
        await #expect(throws: RedisError.connectionClosed) { try await client.send(id) }
        await #expect(throws: RedisError.connectionClosed) {
            try await onLoop(loops[1]) { try await client.send(id) }
        }
        try await group.shutdownGracefully()
    }

    @Test func logsShowStateChangesButNeverThePassword() async throws {
        try await withPrivateServer(password: "log-secret-right") { server async throws in
            let capture = LogCapture()

            var wrong = try testConfiguration(url: server.url)
            wrong.password = "log-secret-wrong"
            let rejected = RedisClient(configuration: wrong, logger: capture.logger)
            await #expect(throws: RedisError.self) { try await rejected.ping() }
            await rejected.shutdown()

            var right = try testConfiguration(url: server.url)
            right.reconnectBackoff = .milliseconds(10)...(.milliseconds(20))
            let client = RedisClient(configuration: right, logger: capture.logger)
            try await client.ping()
            await server.kill()
            try await waitUntil("the client to notice the loss", seconds: 10) {
                capture.text.contains("lost the connection")
            }
            await #expect(throws: RedisError.self) { try await client.ping() }
            await client.shutdown()

            let logs = capture.text
            #expect(logs.contains("connected to Redis"))
            #expect(logs.contains("could not connect to Redis"))
            #expect(logs.contains("lost the connection"))
            #expect(!logs.contains("log-secret-right"))
            #expect(!logs.contains("log-secret-wrong"))
        }
    }
}

/// Runs `body` with `loop` as its task executor: it and the functions it awaits run on that
/// loop's thread, as every task does in a process that made NIO's event loops Swift
/// Concurrency's executor (the hub does).
private func onLoop<Value: Sendable>(
    _ loop: any EventLoop,
    _ body: @Sendable () async throws -> Value
) async rethrows -> Value {
    try await withTaskExecutorPreference(EventLoopTaskExecutor(loop: loop), operation: body)
}

private final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
