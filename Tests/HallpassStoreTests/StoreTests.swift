import HallpassCrypto
import Testing

@testable import HallpassStore

@Suite("Key schema and identifiers")
struct SchemaTests {
    @Test func anIdentifiersFirstCharacterPicksOneOfSixteenShards() {
        #expect(StoreSchema.shardCount == 16)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        for (index, character) in alphabet.enumerated() {
            #expect(StoreSchema.shard(of: String(character) + "rest") == index % 16)
        }
        for text in ["", "A", "-a", "0", "1", "8", "é"] {
            #expect(StoreSchema.shard(of: text) == nil, "\(text)")
        }
        #expect(StoreSchema.shardPrefix(0) == "hp:{h0}:")
        #expect(StoreSchema.shardPrefix(15) == "hp:{hf}:")
        #expect(StoreSchema.globalPrefix == "hp:{hg}:")
        #expect(StoreSchema.eventStreams.count == 17)
        #expect(StoreSchema.eventStreams.last == "hp:{hg}:ev")
        #expect(Set(StoreSchema.eventStreams).count == 17)
    }

    @Test func identifiersAreRandomBase32AndSessionsShareTheirUsersShard() throws {
        var seen: Set<String> = []
        for _ in 0..<200 {
            let owner = try Identifiers.make()
            #expect(owner.utf8.count == 26)
            #expect(Identifiers.isWellFormed(owner))
            #expect(!owner.hasPrefix("-"))
            let session = try Identifiers.make(inShardOf: owner)
            #expect(session.first == owner.first)
            #expect(session.utf8.count == 26)
            #expect(StoreSchema.shard(of: session) == StoreSchema.shard(of: owner))
            seen.insert(owner)
            seen.insert(session)
        }
        #expect(seen.count == 400)
        #expect(!Identifiers.isWellFormed(""))
        #expect(!Identifiers.isWellFormed(String(repeating: "a", count: 65)))
        #expect(!Identifiers.isWellFormed("Abc"))
        #expect(Identifiers.isWellFormed(String(repeating: "a", count: 64)))
    }

    @Test func aRefreshTokenIsSidGrantAndSecretAndPrintsRedacted() throws {
        let sid = try Identifiers.make()
        let token = try RefreshToken.issue(sessionID: sid)
        let parts = token.encoded.split(separator: ".")
        #expect(parts.count == 3)
        #expect(parts[0] == sid)
        #expect(parts[1] == token.grantID)
        #expect(parts[1].count == 16)  // 80 bits
        #expect(Base32.decode(parts[2])?.count == 48)  // 256 random bits and a 128-bit lineage tag
        #expect(RefreshToken(parsing: token.encoded) == token)
        #expect(!"\(token)".contains(String(parts[2])))
        #expect(token.verifier.count == 32)
        #expect(try token.successor().verifier != token.verifier)
        // A successor's tag names its predecessor; a token from before tags still parses.
        let successor = try token.successor()
        #expect(successor.lineage.tag.count == 32)
        #expect(RefreshToken.lineageTag(predecessor: token.verifier, random: successor.lineage.random).count == 16)
        let untagged = sid + "." + token.grantID + "." + Base32.encode([UInt8](repeating: 7, count: 32))
        #expect(RefreshToken(parsing: untagged)?.lineage.tag == "")
    }
}
