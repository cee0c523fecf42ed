import HallpassRedis
import HallpassTestSupport
import NIOPosix
import Testing

@Suite("Pipelines and concurrency")
struct PipelineTests {
    @Test func tenThousandIncrementsComeBackInOrder() async throws {
        try await withSharedClient { client async throws in
            let key = uniqueKey("incr")
            let results = try await client.pipeline(Array(repeating: RedisCommand("INCR", key), count: 10_000))
            try #require(results.count == 10_000)
            let outOfOrder = results.enumerated().filter { index, result in
                (try? result.get()) != .integer(Int64(index + 1))
            }
            #expect(outOfOrder.isEmpty, "first wrong results: \(outOfOrder.prefix(3))")
        }
    }

    @Test func tenThousandSetsAndGetsWithDistinctValues() async throws {
        try await withSharedClient { client async throws in
            let prefix = uniqueKey("setget")
            var commands: [RedisCommand] = []
            for index in 0..<5_000 {
                commands.append(RedisCommand("SET", "\(prefix):\(index)", "value-\(index)", "EX", 60))
                commands.append(RedisCommand("GET", "\(prefix):\(index)"))
            }
            let results = try await client.pipeline(commands)
            try #require(results.count == 10_000)
            var wrong: [Int] = []
            for index in 0..<5_000 {
                if (try? results[2 * index].get()) != .simpleString("OK")
                    || (try? results[2 * index + 1].get())?.string != "value-\(index)"
                {
                    wrong.append(index)
                }
            }
            #expect(wrong.isEmpty, "wrong pairs at \(wrong.prefix(5))")
        }
    }

    @Test func emptyPipeline() async throws {
        try await withSharedClient { client async throws in
            #expect(try await client.pipeline([]).isEmpty)
        }
    }

    @Test func concurrentCallersEachGetTheirOwnReplies() async throws {
        try await withSharedClient { client async throws in
            let prefix = uniqueKey("concurrent")
            let wrong = try await withThrowingTaskGroup(of: Int.self) { group in
                for task in 0..<64 {
                    group.addTask {
                        let key = "\(prefix):\(task)"
                        var wrong = 0
                        _ = try await client.send(RedisCommand("SET", key, "task-\(task)", "EX", 60))
                        for iteration in 0..<200 {
                            if try await client.send(RedisCommand("GET", key)).string != "task-\(task)" {
                                wrong += 1
                            }
                            // Changing values (and a pipeline now and then) make any mix-up of
                            // replies between callers visible as a wrong value.
                            if iteration % 50 == 49 {
                                let value = "task-\(task)-\(iteration)"
                                let results = try await client.pipeline([
                                    RedisCommand("SET", key, value),
                                    RedisCommand("GET", key),
                                    RedisCommand("SET", key, "task-\(task)"),
                                ])
                                if (try? results[1].get())?.string != value { wrong += 1 }
                            }
                        }
                        return wrong
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(wrong == 0)
        }
    }

    @Test func dedicatedConnectionIsSharedSafelyToo() async throws {
        let connection = try await RedisConnection.connect(
            to: try sharedConfiguration(),
            on: MultiThreadedEventLoopGroup.singleton.next(),
            logger: quietLogger
        )
        let prefix = uniqueKey("connection")
        let wrong = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<16 {
                group.addTask {
                    var wrong = 0
                    for iteration in 0..<100 {
                        let value = "\(task)-\(iteration)"
                        let results = try await connection.pipeline([
                            RedisCommand("SET", "\(prefix):\(task)", value, "EX", 60),
                            RedisCommand("GET", "\(prefix):\(task)"),
                        ])
                        if (try? results[1].get())?.string != value { wrong += 1 }
                    }
                    return wrong
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(wrong == 0)
        #expect(connection.isActive)
        await connection.close()
        #expect(!connection.isActive)
        await #expect(throws: RedisError.connectionClosed) {
            try await connection.send(RedisCommand("PING"))
        }
        await #expect(throws: RedisError.connectionClosed) {
            try await connection.pipeline([RedisCommand("PING")])
        }
    }
}
