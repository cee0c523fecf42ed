import HallpassRedis
import Testing

@Suite("Configuration, commands and values")
struct ConfigurationTests {
    @Test func parsesAFullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:s3cret@cache.internal:6380/4")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "alice")
        #expect(configuration.password == "s3cret")
        #expect(configuration.database == 4)
    }

    @Test func appliesDefaults() throws {
        let configuration = try RedisConfiguration(url: "redis://localhost")
        #expect(configuration.host == "localhost")
        #expect(configuration.port == 6379)
        #expect(configuration.username == nil)
        #expect(configuration.password == nil)
        #expect(configuration.database == 0)
        #expect(configuration.connectTimeout == .seconds(2))
        #expect(configuration.commandTimeout == .seconds(5))
        #expect(configuration.reconnectBackoff == .milliseconds(50)...(.seconds(2)))
        #expect(try RedisConfiguration(url: "REDIS://h/").database == 0)
    }

    @Test func passwordWithoutUser() throws {
        let configuration = try RedisConfiguration(url: "redis://:pw@h")
        #expect(configuration.username == nil)
        #expect(configuration.password == "pw")
    }

    @Test func percentDecodesUserAndPassword() throws {
        let configuration = try RedisConfiguration(url: "redis://us%40er:p%40ss%3Aw%2Frd%25%20%C3%A9@h:1/2")
        #expect(configuration.username == "us@er")
        #expect(configuration.password == "p@ss:w/rd% é")
        #expect(configuration.host == "h")
        #expect(configuration.port == 1)
        #expect(configuration.database == 2)
    }

    @Test func unescapedAtAndSlashInPasswordStillParse() throws {
        let configuration = try RedisConfiguration(url: "redis://u:p@ss/w@h:1234/2")
        #expect(configuration.username == "u")
        #expect(configuration.password == "p@ss/w")
        #expect(configuration.host == "h")
        #expect(configuration.port == 1234)
        #expect(configuration.database == 2)
    }

    @Test func bracketedIPv6Host() throws {
        let configuration = try RedisConfiguration(url: "redis://[::1]:7000/1")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 7000)
        #expect(configuration.redactedURL == "redis://[::1]:7000/1")
    }

    @Test(arguments: [
        "http://h:6379",
        "h:6379",
        "redis:/h",
        "redis://",
        "redis://:6379/0",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:abc",
        "redis://h:-1",
        "redis://h:+1",
        "redis://h:",
        "redis://h/x",
        "redis://h/-1",
        "redis://h/+1",
        "redis://h/99999999999999999999999",
        "redis://h/0?timeout=1",
        "redis://h/0#x",
        "redis://[::1:6379",
        "redis://[::1]x",
        "redis://u:hunter2%zz@h",
        "redis://u:hunter2%F@h",
        "redis://u:hunter2%FF@h",
        "redis://u:hunter2@h:bad",
    ])
    func rejectsInvalidURLs(url: String) throws {
        let error = try #require(throws: RedisError.self) { try RedisConfiguration(url: url) }
        guard case .invalidURL(let detail) = error else {
            Issue.record("expected invalidURL, got \(error)")
            return
        }
        #expect(!detail.contains("hunter2"))
        #expect(!error.description.contains("hunter2"))
    }

    @Test func printingNeverShowsThePassword() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:hunter2@h:6379/3")
        #expect(configuration.redactedURL == "redis://alice:***@h:6379/3")
        #expect(configuration.description == configuration.redactedURL)
        #expect("\(configuration)".contains("alice"))
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [configuration.redactedURL, "\(configuration)", String(reflecting: configuration), dumped] {
            #expect(!text.contains("hunter2"), "\(text)")
        }

        let passwordOnly = RedisConfiguration(host: "h", password: "hunter2")
        #expect(passwordOnly.redactedURL == "redis://:***@h:6379/0")
        let userOnly = RedisConfiguration(host: "h", username: "a b")
        #expect(userOnly.redactedURL == "redis://a%20b@h:6379/0")
        #expect(RedisConfiguration(host: "h").redactedURL == "redis://h:6379/0")
    }

    @Test func commandsHoldTheirArgumentsButDoNotPrintThem() {
        let command = RedisCommand("AUTH", "alice", "hunter2")
        #expect(command.arguments == [Array("AUTH".utf8), Array("alice".utf8), Array("hunter2".utf8)])
        #expect(!command.description.contains("hunter2"))
        #expect(command.description.contains("AUTH"))
        #expect(RedisCommand("GET", arguments: ["k"]) == RedisCommand("GET", "k"))
    }

    @Test func argumentEncodings() {
        #expect((-42).redisBytes == Array("-42".utf8))
        #expect(Int64.min.redisBytes == Array("-9223372036854775808".utf8))
        #expect(UInt64.max.redisBytes == Array("18446744073709551615".utf8))
        #expect(1.5.redisBytes == Array("1.5".utf8))
        #expect(Double.infinity.redisBytes == Array("inf".utf8))
        #expect((-Double.infinity).redisBytes == Array("-inf".utf8))
        #expect([UInt8]([0, 13, 10, 255]).redisBytes == [0, 13, 10, 255])
        #expect("héllo".dropFirst().redisBytes == Array("éllo".utf8))
    }

    @Test func scriptIDIsTheSHA1OfTheSource() {
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }

    @Test func valueAccessors() {
        #expect(RedisValue.simpleString("OK").string == "OK")
        #expect(RedisValue.bulkString(Array("12".utf8)).string == "12")
        #expect(RedisValue.bulkString(Array("12".utf8)).int == 12)
        #expect(RedisValue.bulkString(Array("x".utf8)).int == nil)
        #expect(RedisValue.bulkString([0xff, 0xfe]).string == nil)
        #expect(RedisValue.bulkString([0xff, 0xfe]).bytes == [0xff, 0xfe])
        #expect(RedisValue.simpleString("OK").bytes == Array("OK".utf8))
        #expect(RedisValue.integer(-3).int == -3)
        #expect(RedisValue.integer(-3).string == nil)
        #expect(RedisValue.null.isNull)
        #expect(!RedisValue.bulkString([]).isNull)
        #expect(RedisValue.array([.null]).array == [.null])
        #expect(RedisValue.error("ERR x").string == nil)
    }
}
