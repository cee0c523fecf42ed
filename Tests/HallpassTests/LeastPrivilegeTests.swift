import Foundation
import Hallpass
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Validator: works as the read-only ACL user, which cannot write", .serialized)
struct LeastPrivilegeTests {
    @Test("the validator user (StoreSchema.validatorACLRules) runs a validator that sees revocations, and every write or other read is refused")
    func validatorUser() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        let password = "validator-test-password"
        let set = try await fixture.redis.send(RedisCommand(
            "ACL", arguments: ["SETUSER", "hallpass-validator", "reset", "on", ">" + password]
                + StoreSchema.validatorACLRules.split(separator: " ").map(String.init)))
        #expect(set.string == "OK")
        let url = "redis://hallpass-validator:\(password)@127.0.0.1:\(fixture.server.port)/0"

        let session = try await fixture.login()
        let token = try fixture.token(session: session.sessionID)
        try await fixture.addMachineClient()
        let clientToken = try fixture.clientToken()
        // Clients named like the revocation records: their hashes (hp:{hg}:c:rs, ...) must stay
        // out of reach, as the other client hashes are.
        for name in ["rs", "rg", "nbf", "ev", "cnbf"] {
            _ = try await fixture.store.createClient(id: name, confidential: true, grantTypes: ["client_credentials"], actor: "test")
        }
        try await running(try fixture.validator(url: url)) { validator in
            #expect(refusal(validator, token) == nil)
            try await fixture.store.endSession(session.sessionID, reason: "logout", actor: "test")
            try await waitUntil("revocation seen by the ACL user") { refusal(validator, token) == .revoked(.session) }
            #expect(refusal(validator, clientToken) == nil)
            try await fixture.store.removeClient(id: ValidatorFixture.audience, actor: "test")
            try await waitUntil("client watermark seen by the ACL user") { refusal(validator, clientToken) == .revoked(.client) }
        }
        // And a snapshot taken as the ACL user reads the client watermarks.
        try await running(try fixture.validator(url: url)) { validator in
            #expect(refusal(validator, clientToken) == .revoked(.client))
        }

        let restricted = try testRedisClient(url: url)
        defer { Task { await restricted.shutdown() } }
        let prefix = StoreSchema.shardPrefix(StoreSchema.shard(of: fixture.userID) ?? 0)
        let forbidden: [RedisCommand] = [
            RedisCommand("SET", "hp:{hg}:x", "1"),
            RedisCommand("ZADD", StoreSchema.revokedTokenIDs, 1, "x"),
            RedisCommand("ZREM", StoreSchema.revokedTokenIDs, "x"),
            RedisCommand("XADD", StoreSchema.eventStreams.last ?? "", "*", "type", "forged"),
            RedisCommand("DEL", prefix + "rs"),
            RedisCommand("HSET", "hp:{hg}:keys", "kid", "x"),
            RedisCommand("HSET", "hp:{hg}:pubkeys", "kid", "x"),
            // The private keys, sealed or not, are out of reach: validators read public records.
            RedisCommand("HGETALL", "hp:{hg}:keys"),
            RedisCommand("HGETALL", prefix + "u:" + fixture.userID),
            RedisCommand("HGETALL", "hp:{hg}:names"),
            RedisCommand("HGETALL", "hp:{hg}:c:rs"),
            RedisCommand("HGETALL", "hp:{hg}:c:rg"),
            RedisCommand("HGETALL", "hp:{hg}:c:nbf"),
            RedisCommand("HGETALL", "hp:{hg}:c:ev"),
            RedisCommand("HGETALL", "hp:{hg}:c:cnbf"),
            RedisCommand("ZADD", StoreSchema.clientWatermarks, 1, "x"),
            RedisCommand("EVAL", "return redis.call('DEL', KEYS[1])", 1, "hp:{hg}:keys"),
            RedisCommand("FLUSHALL"),
            RedisCommand("CONFIG", "SET", "maxmemory", "1"),
            RedisCommand("KEYS", "*"),
        ]
        for command in forbidden {
            await #expect(throws: RedisError.self, "\(command) must be refused") {
                _ = try await restricted.send(command)
            }
        }
        // And what it needs still works.
        let published = try await restricted.send(RedisCommand("HGETALL", "hp:{hg}:pubkeys")).array ?? []
        #expect(!published.isEmpty)
        #expect(!published.contains { String(decoding: $0.bytes ?? [], as: UTF8.self).contains("PRIVATE") || String(decoding: $0.bytes ?? [], as: UTF8.self).contains("\"private\"") })
    }

    @Test("ops/lib/common.sh creates the validator user with exactly the schema's rules")
    func opsUsesTheSchemaRules() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let common = try String(contentsOf: root.appendingPathComponent("ops/lib/common.sh"), encoding: .utf8)
        #expect(common.contains(StoreSchema.validatorACLRules))
        let design = try String(contentsOf: root.appendingPathComponent("docs/DESIGN.md"), encoding: .utf8)
        #expect(design.contains(StoreSchema.validatorACLRules))
    }
}
