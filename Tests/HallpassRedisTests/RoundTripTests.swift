import HallpassRedis
import Testing

/// Every RESP2 reply type, produced by a real redis-server.
@Suite("Reply round trips")
struct RoundTripTests {
    @Test func statusReplies() async throws {
        try await withSharedClient { client async throws in
            let key = uniqueKey("status")
            #expect(try await client.send(RedisCommand("SET", key, "v")) == .simpleString("OK"))
            #expect(try await client.send(RedisCommand("PING")) == .simpleString("PONG"))
            try await client.ping()
        }
    }

    @Test func errorRepliesThrowServerErrors() async throws {
        try await withSharedClient { client async throws in
            let key = uniqueKey("wrongtype")
            _ = try await client.send(RedisCommand("SET", key, "a string"))

            let error = try await #require(throws: RedisError.self) {
                try await client.send(RedisCommand("LPUSH", key, "x"))
            }
            guard case .server(let message) = error else {
                Issue.record("expected a server error, got \(error)")
                return
            }
            #expect(message.hasPrefix("WRONGTYPE"))

            // The connection is still in step after an error reply.
            #expect(try await client.send(RedisCommand("GET", key)).string == "a string")
            await #expect(throws: RedisError.self) {
                try await client.send(RedisCommand("NO-SUCH-COMMAND"))
            }
        }
    }

    @Test func pipelineReportsErrorRepliesPerCommand() async throws {
        try await withSharedClient { client async throws in
            let key = uniqueKey("pipeline-errors")
            let results = try await client.pipeline([
                RedisCommand("SET", key, "v"),
                RedisCommand("LPUSH", key, "x"),
                RedisCommand("GET", key),
                RedisCommand("INCR", key),
                RedisCommand("STRLEN", key),
            ])
            try #require(results.count == 5)
            #expect(try results[0].get() == .simpleString("OK"))
            guard case .failure(.server(let wrongType)) = results[1] else {
                Issue.record("expected WRONGTYPE, got \(results[1])")
                return
            }
            #expect(wrongType.hasPrefix("WRONGTYPE"))
            #expect(try results[2].get() == .bulkString(Array("v".utf8)))
            guard case .failure(.server(let notInteger)) = results[3] else {
                Issue.record("expected a not-an-integer error, got \(results[3])")
                return
            }
            #expect(notInteger.contains("not an integer"))
            #expect(try results[4].get() == .integer(1))
        }
    }

    @Test func integerReplies() async throws {
        try await withSharedClient { client async throws in
            let key = uniqueKey("integer")
            #expect(try await client.send(RedisCommand("INCR", key)) == .integer(1))
            #expect(try await client.send(RedisCommand("DECRBY", key, 10)) == .integer(-9))
            #expect(try await client.send(RedisCommand("SET", key, 0)) == .simpleString("OK"))
            #expect(try await client.send(RedisCommand("DECRBY", key, Int64.max)) == .integer(-Int64.max))
            #expect(try await client.send(RedisCommand("DECR", key)) == .integer(.min))
            #expect(try await client.send(RedisCommand("GET", key)).int == .min)
        }
    }

    @Test func bulkStringsAreBinarySafe() async throws {
        try await withSharedClient { client async throws in
            let allBytes = (0...255).map { UInt8($0) }
            let tricky: [UInt8] = [0, 13, 10, 0, 13, 10, 36, 42, 13, 10]
            for (index, value) in [allBytes, tricky, allBytes + tricky + allBytes].enumerated() {
                // Binary keys too: the key carries the same bytes as the value.
                let key = Array(uniqueKey("binary-\(index)").utf8) + value
                #expect(try await client.send(RedisCommand("SET", key, value)) == .simpleString("OK"))
                #expect(try await client.send(RedisCommand("GET", key)) == .bulkString(value))
                #expect(try await client.send(RedisCommand("STRLEN", key)) == .integer(Int64(value.count)))
            }
        }
    }

    @Test func emptyBulkString() async throws {
        try await withSharedClient { client async throws in
            let key = uniqueKey("empty")
            _ = try await client.send(RedisCommand("SET", key, ""))
            let value = try await client.send(RedisCommand("GET", key))
            #expect(value == .bulkString([]))
            #expect(!value.isNull)
            #expect(value.string == "")
        }
    }

    @Test func nullReplies() async throws {
        try await withSharedClient { client async throws in
            let key = uniqueKey("missing")
            let bulk = try await client.send(RedisCommand("GET", key))
            #expect(bulk == .null)
            #expect(bulk.isNull)
            #expect(try await client.send(RedisCommand("HGET", key, "field")) == .null)
            // A timed-out BLPOP answers with the null array (*-1).
            #expect(try await client.send(RedisCommand("BLPOP", key, 0.01)) == .null)
        }
    }

    @Test func arrayReplies() async throws {
        try await withSharedClient { client async throws in
            let key = uniqueKey("list")
            #expect(try await client.send(RedisCommand("RPUSH", key, "a", "", [0, 255] as [UInt8])) == .integer(3))
            #expect(
                try await client.send(RedisCommand("LRANGE", key, 0, -1))
                    == .array([.bulkString(Array("a".utf8)), .bulkString([]), .bulkString([0, 255])])
            )
            #expect(try await client.send(RedisCommand("LRANGE", uniqueKey("none"), 0, -1)) == .array([]))
        }
    }

    @Test func nestedArrays() async throws {
        try await withSharedClient { client async throws in
            let nested = try await client.send(RedisCommand("EVAL", "return {1,{2,'x',{}},{}}", 0))
            #expect(nested == .array([.integer(1), .array([.integer(2), bulk("x"), .array([])]), .array([])]))

            let withError = try await client.send(
                RedisCommand("EVAL", "return {1,redis.error_reply('MYERR nested')}", 0)
            )
            #expect(withError == .array([.integer(1), .error("MYERR nested")]))

            let stream = uniqueKey("stream")
            let id = try #require(try await client.send(RedisCommand("XADD", stream, "*", "field", "value")).string)
            let entries = try await client.send(RedisCommand("XRANGE", stream, "-", "+"))
            #expect(entries == .array([.array([bulk(id), .array([bulk("field"), bulk("value")])])]))
        }
    }
}
