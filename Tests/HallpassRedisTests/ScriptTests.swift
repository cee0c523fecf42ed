import HallpassRedis
import HallpassTestSupport
import Testing

@Suite("Scripts")
struct ScriptTests {
    @Test func evalScriptLoadsOnDemandAndAfterScriptFlush() async throws {
        // A private server: SCRIPT FLUSH would disturb other tests' scripts.
        try await withPrivateServer { server async throws in
            let client = RedisClient(configuration: try testConfiguration(url: server.url), logger: quietLogger)
            let script = RedisScript("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}")
            let key = uniqueKey("script")
            let exists = RedisCommand("SCRIPT", "EXISTS", script.sha1)

            #expect(try await client.send(exists) == .array([.integer(0)]))
            let first = try await client.evalScript(script, keys: [key], arguments: ["arg"])
            #expect(first == .array([.bulkString(Array(key.utf8)), .bulkString(Array("arg".utf8)), .integer(1)]))
            #expect(try await client.send(exists) == .array([.integer(1)]))
            #expect(try await client.evalScript(script, keys: [key], arguments: ["arg"]).array?.last == .integer(2))

            #expect(try await client.send(RedisCommand("SCRIPT", "FLUSH")) == .simpleString("OK"))
            #expect(try await client.send(exists) == .array([.integer(0)]))
            #expect(try await client.evalScript(script, keys: [key], arguments: ["arg"]).array?.last == .integer(3))
            #expect(try await client.send(exists) == .array([.integer(1)]))
            await client.shutdown()
        }
    }

    @Test func scriptErrorsAreServerErrors() async throws {
        try await withSharedClient { client async throws in
            let raised = try await #require(throws: RedisError.self) {
                try await client.evalScript(
                    RedisScript("return redis.error_reply('NOPE raised by script')"),
                    keys: [],
                    arguments: []
                )
            }
            #expect(raised == .server("NOPE raised by script"))

            let broken = try await #require(throws: RedisError.self) {
                try await client.evalScript(RedisScript("this is not lua \(uniqueKey("x"))"), keys: [], arguments: [])
            }
            guard case .server(let message) = broken else {
                Issue.record("expected a server error, got \(broken)")
                return
            }
            #expect(message.contains("Error compiling script"))
        }
    }
}
