import Foundation
import HallpassCrypto
import HallpassJOSE
import HallpassRedis
import Testing

@testable import HallpassStore

@Suite("Signing keys")
struct SigningKeyTests {
    /// Signs a token with `signer` and validates it against `jwks`, as a member app would.
    func signsVerifiably(_ signer: JWTSigner, jwks: JWKSet) throws {
        let now = Int64(wallClockSeconds())
        let token = try signer.sign(claims: [
            "iss": "http://127.0.0.1:8400", "aud": "notes", "sub": "u", "exp": .integer(now + 300),
        ])
        let validator = JWTValidator(
            configuration: .init(issuer: "http://127.0.0.1:8400", audience: "notes"), keys: try VerificationKeys(jwks: jwks))
        let verified = try validator.validate(token)
        #expect(verified.keyID == signer.keyID)
    }

    @Test(arguments: JWSAlgorithm.allCases)
    func aKeyGeneratedWithoutAKEKHoldsItsPrivateKeyAsPEMAndSigns(_ algorithm: JWSAlgorithm) throws {
        let key = try StoredSigningKey.generate(algorithm: algorithm, kek: nil, createdAt: 100, activatesAt: 200)
        #expect(key.algorithm == algorithm.rawValue)
        #expect(!key.isSealed)
        #expect(key.privateKey.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(key.createdAt == 100)
        #expect(key.activatesAt == 200)
        #expect(key.retiresAt == nil)
        let jwk = try key.jwk()
        #expect(jwk.keyID == key.keyID)
        #expect(jwk.thumbprint == key.keyID)

        let signer = try key.signer(kek: nil)
        #expect(signer.keyID == key.keyID)
        #expect(signer.algorithm == algorithm)
        try signsVerifiably(signer, jwks: JWKSet(keys: [jwk]))
        // A KEK given for an unsealed key is not needed and does no harm.
        #expect(try key.signer(kek: SymmetricKey.generate()).keyID == key.keyID)
    }

    @Test(arguments: JWSAlgorithm.allCases)
    func aSealedKeyOpensOnlyWithItsKEK(_ algorithm: JWSAlgorithm) throws {
        let kek = SymmetricKey.generate()
        let key = try StoredSigningKey.generate(algorithm: algorithm, kek: kek, createdAt: 100, activatesAt: 100)
        #expect(key.isSealed)
        #expect(!key.privateKey.contains("PRIVATE KEY"))
        #expect(!key.privateKey.contains("-----"))
        #expect((try? UnpaddedBase64.standard.decode(key.privateKey)) != nil)

        try signsVerifiably(try key.signer(kek: kek), jwks: JWKSet(keys: [try key.jwk()]))
        #expect(throws: SigningKeyError.wrongKEK(keyID: key.keyID)) { try key.signer(kek: SymmetricKey.generate()) }
        #expect(throws: SigningKeyError.sealedWithoutKEK(keyID: key.keyID)) { try key.signer(kek: nil) }

        // The seal is bound to its key id: moved into another record it does not open.
        var moved = key
        moved.keyID = "another-kid"
        #expect(throws: SigningKeyError.wrongKEK(keyID: "another-kid")) { try moved.signer(kek: kek) }
        var damaged = key
        damaged.privateKey = "not base64 !"
        #expect(throws: SigningKeyError.self) { try damaged.signer(kek: kek) }
    }

    @Test func theKeySetSignsWithTheNewestActivatedKeyAndPublishesAnnouncedButNotRetiredKeys() throws {
        let now: Int64 = 1_000_000
        let retired = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now - 9000, activatesAt: now - 9000)
        var retiredKey = retired
        retiredKey.retiresAt = now - 1
        var retiring = try StoredSigningKey.generate(algorithm: .edDSA, kek: nil, createdAt: now - 5000, activatesAt: now - 5000)
        retiring.retiresAt = now + 3600
        let current = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now - 200, activatesAt: now - 100)
        let announced = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now - 10, activatesAt: now + 600)

        let set = SigningKeySet(stored: [announced, retiredKey, current, retiring], kek: nil, now: now)

        #expect(set.signer?.keyID == current.keyID)
        #expect(Set(set.jwks.keys.compactMap(\.keyID)) == [retiring.keyID, current.keyID, announced.keyID])
        #expect(set.problems.isEmpty)
        let signer = try #require(set.signer)
        try signsVerifiably(signer, jwks: set.jwks)

        // Once the announced key's time comes, it signs; the retiring key goes at its time.
        let later = SigningKeySet(stored: [announced, retiredKey, current, retiring], kek: nil, now: now + 3600)
        #expect(later.signer?.keyID == announced.keyID)
        #expect(Set(later.jwks.keys.compactMap(\.keyID)) == [current.keyID, announced.keyID])
    }

    @Test func aSealedSignerWithoutItsKEKIsReportedAndStillPublished() throws {
        let key = try StoredSigningKey.generate(algorithm: .es256, kek: SymmetricKey.generate(), createdAt: 1, activatesAt: 1)
        let set = SigningKeySet(stored: [key], kek: nil, now: 10)
        #expect(set.signer == nil)
        #expect(set.problems == [.sealedWithoutKEK(keyID: key.keyID)])
        #expect(set.jwks.keys.compactMap(\.keyID) == [key.keyID])
    }

    @Test func storedKeysRoundTripAndUpdate() async throws {
        try await withStore { fixture async throws in
            #expect(try await fixture.store.signingKeys().isEmpty)
            let kek = SymmetricKey.generate()
            var first = try StoredSigningKey.generate(algorithm: .es256, kek: kek, createdAt: 10, activatesAt: 10)
            #expect(try await fixture.store.addFirstSigningKey(first, actor: "hub"))
            #expect(try await fixture.store.signingKeys() == [first])

            let second = try StoredSigningKey.generate(algorithm: .rs256, kek: nil, createdAt: 20, activatesAt: 30)
            first.retiresAt = 4000
            try await fixture.store.saveSigningKeys([second, first], event: "key_rotated", actor: "cli:root")
            #expect(try await fixture.store.signingKeys() == [first, second])
            #expect(try await fixture.store.addFirstSigningKey(second, actor: "hub") == false)
            _ = try await fixture.store.signingKeys().first?.signer(kek: kek)

            _ = try await fixture.raw("HSET", "hp:{hg}:keys", "broken", "{}")
            #expect(await storeError { try await fixture.store.signingKeys() }?.kind == "corruptRecord")
        }
    }

    @Test func publicRecordsFollowEveryKeyWriteAndHoldNoPrivateKey() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            struct Public: Equatable {
                let kid: String, alg: String, jwk: String, created: Int64, activates: Int64, retires: Int64?
                init(_ key: StoredSigningKey) {
                    (kid, alg, jwk, created, activates, retires) =
                        (key.keyID, key.algorithm, key.publicJWK, key.createdAt, key.activatesAt, key.retiresAt)
                }
            }
            func agree() async throws {
                #expect(try await store.publicSigningKeys().map(Public.init) == (try await store.signingKeys()).map(Public.init))
                let raw = try await fixture.raw("HGETALL", "hp:{hg}:pubkeys").array?.compactMap(\.bytes) ?? []
                #expect(!raw.isEmpty)
                #expect(!raw.contains { String(decoding: $0, as: UTF8.self).contains("private") })
            }
            let kek = SymmetricKey.generate()
            let start = fixture.clock.seconds
            let first = try StoredSigningKey.generate(algorithm: .es256, kek: kek, createdAt: start, activatesAt: start)
            #expect(try await store.addFirstSigningKey(first, actor: "hub"))
            try await agree()
            // A public record cannot sign, whatever key-encryption key is offered.
            let published = try #require(try await store.publicSigningKeys().first)
            #expect(throws: SigningKeyError.self) { try published.signer(kek: kek) }

            let second = try StoredSigningKey.generate(algorithm: .rs256, kek: kek, createdAt: start, activatesAt: start + 600)
            _ = try await store.rotateSigningKeys(adding: second, actor: "cli:test")
            try await agree()
            #expect(try await store.publicSigningKeys().compactMap(\.retiresAt).count == 1)
            fixture.clock.advance(seconds: 600 + HallpassStore.keyRetirementDelay)
            #expect(try await store.deleteRetiredSigningKeys(actor: "hub") == [first.keyID])
            try await agree()
            #expect(try await store.publicSigningKeys().map(\.keyID) == [second.keyID])

            // Keys stored before public records existed, and a stray record: one call mends both, once.
            _ = try await fixture.raw("HDEL", "hp:{hg}:pubkeys", second.keyID)
            _ = try await fixture.raw("HSET", "hp:{hg}:pubkeys", "stray", SigningKeyCodec.encodePublic(first))
            #expect(try await store.publishPublicSigningKeys())
            try await agree()
            #expect(try await store.publishPublicSigningKeys() == false)
            #expect(!(try await store.recentEvents(count: 10).map(\.type).contains("")))
        }
    }

    @Test func tenHubsRacingToStoreTheFirstKeyStoreExactlyOne() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            var candidates: [StoredSigningKey] = []
            for _ in 0..<10 {
                candidates.append(try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: 1, activatesAt: 1))
            }
            let results = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for key in candidates {
                    group.addTask { (key.keyID, try await store.addFirstSigningKey(key, actor: "hub")) }
                }
                var results: [(String, Bool)] = []
                for try await result in group { results.append(result) }
                return results
            }
            let winners = results.filter(\.1).map(\.0)
            #expect(winners.count == 1)
            #expect(try await store.signingKeys().map(\.keyID) == winners)
            #expect(try await store.recentEvents(count: 100).filter { $0.type == "key_added" }.count == 1)
        }
    }
}

@Suite("Key-encryption key file")
struct KeyEncryptionKeyFileTests {
    static let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

    /// Writes `content` to a fresh file with `permissions` and runs `body` with its path.
    func withFile(_ content: String, permissions: Int = 0o600, _ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallpass-kek-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("kek").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(content.utf8)))
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
        try body(path)
    }

    @Test func aValidFileLoadsTheKeyItHolds() throws {
        // As `openssl rand -hex 32 > kek` writes it: with a trailing newline.
        try withFile(Self.hex + "\n") { path throws in
            let loaded = try KeyEncryptionKeyFile.load(path: path)
            #expect(!loaded.exposed)
            // SymmetricKey has no bytes to compare; a seal with one must open with the other.
            let sealed = try AES256GCM.seal(Array("probe".utf8), using: loaded.key, authenticating: [])
            #expect(try AES256GCM.open(sealed, using: try SymmetricKey(hex: Self.hex), authenticating: []) == Array("probe".utf8))
        }
        try withFile(Self.hex.uppercased()) { path throws in
            _ = try KeyEncryptionKeyFile.load(path: path)
        }
    }

    @Test(arguments: [0o640, 0o604, 0o644, 0o660, 0o666])
    func aFileOthersCanReadIsFlaggedAsExposed(_ permissions: Int) throws {
        try withFile(Self.hex, permissions: permissions) { path throws in
            #expect(try KeyEncryptionKeyFile.load(path: path).exposed)
        }
    }

    @Test(arguments: [0o600, 0o400])
    func anOwnerOnlyFileIsNotExposed(_ permissions: Int) throws {
        try withFile(Self.hex, permissions: permissions) { path throws in
            #expect(try KeyEncryptionKeyFile.load(path: path).exposed == false)
        }
    }

    @Test(arguments: [
        "",
        "not a key",
        String(hex.dropLast()),
        hex + "0",
        "ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=",  // the same key in base64
        String(hex.dropLast()) + "g",
        hex + "\n" + hex,
        String(repeating: " ", count: 300) + hex,  // longer than any key file
    ])
    func malformedContentIsRefused(_ content: String) throws {
        try withFile(content) { path throws in
            #expect(throws: KeyEncryptionKeyFile.Problem.malformed(path: path)) { try KeyEncryptionKeyFile.load(path: path) }
        }
    }

    @Test func aMissingFileOrADirectoryIsUnreadable() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("hallpass-no-such-\(UUID().uuidString)").path
        #expect(throws: KeyEncryptionKeyFile.Problem.unreadable(path: missing, errno: ENOENT)) {
            try KeyEncryptionKeyFile.load(path: missing)
        }
        let directory = FileManager.default.temporaryDirectory.path
        #expect(throws: KeyEncryptionKeyFile.Problem.unreadable(path: directory, errno: EISDIR)) {
            try KeyEncryptionKeyFile.load(path: directory)
        }
        let problem = KeyEncryptionKeyFile.Problem.unreadable(path: missing, errno: ENOENT)
        #expect(problem.description.contains(missing))
        #expect(problem.description.contains("No such file"))
    }

    @Test func aRotationWalksEveryKeyThroughNextActiveRetiringAndDeleted() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            let start = fixture.clock.seconds
            let first = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: start, activatesAt: start)
            #expect(try await store.addFirstSigningKey(first, actor: "hub"))
            fixture.clock.advance(seconds: 5)

            let second = try StoredSigningKey.generate(
                algorithm: .edDSA, kek: nil, createdAt: fixture.clock.seconds, activatesAt: fixture.clock.seconds + 600)
            let rotation = try await store.rotateSigningKeys(adding: second, actor: "cli:test")
            let retiresAt = second.activatesAt + HallpassStore.maximumAccessTokenLifetime + HallpassStore.clockSkewAllowance
            #expect(rotation.added.keyID == second.keyID)
            #expect(rotation.retiring.map(\.keyID) == [first.keyID])
            #expect(rotation.retiring.first?.retiresAt == retiresAt)
            #expect(rotation.deleted.isEmpty)

            func states() async throws -> [String: SigningKeyState] {
                let keys = try await store.signingKeys()
                return Dictionary(uniqueKeysWithValues: keys.map { ($0.keyID, $0.state(at: fixture.clock.seconds, among: keys)) })
            }
            func signer() async throws -> String? {
                SigningKeySet(stored: try await store.signingKeys(), kek: nil, now: fixture.clock.seconds).signer?.keyID
            }
            #expect(try await states() == [first.keyID: .active, second.keyID: .next])
            #expect(try await signer() == first.keyID)
            fixture.clock.advance(seconds: 600)
            #expect(try await states() == [first.keyID: .retiring, second.keyID: .active])
            #expect(try await signer() == second.keyID)
            #expect(try await store.deleteRetiredSigningKeys(actor: "hub").isEmpty)
            fixture.clock.advance(seconds: HallpassStore.keyRetirementDelay - 1)
            #expect(try await states()[first.keyID] == .retiring)
            fixture.clock.advance(seconds: 1)
            #expect(try await states()[first.keyID] == .retired)
            #expect(SigningKeySet(stored: try await store.signingKeys(), kek: nil, now: fixture.clock.seconds).jwks.keys.compactMap(\.keyID)
                == [second.keyID])
            #expect(try await store.deleteRetiredSigningKeys(actor: "hub") == [first.keyID])
            #expect(try await store.signingKeys().map(\.keyID) == [second.keyID])
            let types = try await store.recentEvents(count: 10).map(\.type)
            #expect(types == ["key_added", HallpassStore.keyRotatedEvent, HallpassStore.keyDeletedEvent])
        }
    }

    @Test func anImmediateRotationSupersedesAnAnnouncedKeyAndNeverTiesTheSigner() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            let now = fixture.clock.seconds
            let (first, announced) = try await Self.activeAndAnnouncedKeys(fixture)
            let immediate = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now, activatesAt: now)
            let rotation = try await store.rotateSigningKeys(adding: immediate, actor: "cli:test")
            #expect(rotation.deleted == [announced.keyID])
            // Same second as the first key's activation: moved one second later.
            #expect(rotation.added.activatesAt == now + 1)
            fixture.clock.advance(seconds: 1)
            #expect(SigningKeySet(stored: try await store.signingKeys(), kek: nil, now: fixture.clock.seconds).signer?.keyID == immediate.keyID)
        }
    }

    @Test func concurrentRotationsAllLandWithoutLosingAnUpdate() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            let now = fixture.clock.seconds
            #expect(try await store.addFirstSigningKey(
                try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now, activatesAt: now), actor: "hub"))
            var candidates: [StoredSigningKey] = []
            for _ in 0..<3 {
                candidates.append(try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now, activatesAt: now + 60))
            }
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for key in candidates {
                    group.addTask { (try? await store.rotateSigningKeys(adding: key, actor: "cli:test")) != nil }
                }
                var outcomes: [Bool] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            let landed = outcomes.filter { $0 }.count
            let keys = try await store.signingKeys()
            // Every rotation that reported success is in the store; exactly one key has no retirement.
            #expect(keys.count == 1 + landed)
            #expect(keys.filter { $0.retiresAt == nil }.count == 1)
            #expect(try await store.recentEvents(count: 20).filter { $0.type == HallpassStore.keyRotatedEvent }.count == landed)
        }
    }

    @Test func withdrawingAKeyDeletesItAtOnceAndReplacesTheSignerWithANewKeyNeverAnAnnouncedOne() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            let now = fixture.clock.seconds
            let (first, announced) = try await Self.activeAndAnnouncedKeys(fixture)
            fixture.clock.advance(seconds: 5)
            func signer() async throws -> String? {
                SigningKeySet(stored: try await store.signingKeys(), kek: nil, now: fixture.clock.seconds).signer?.keyID
            }

            // The signer cannot go without a replacement; nothing changes.
            await #expect(throws: StoreError.self) { try await store.withdrawSigningKey(first.keyID, replacement: nil, actor: "cli:test") }
            #expect(Set(try await store.signingKeys().map(\.keyID)) == [first.keyID, announced.keyID])
            await #expect(throws: StoreError.self) { try await store.withdrawSigningKey("nope", replacement: nil, actor: "cli:test") }

            // With one, the replacement signs from now on, and the announced key keeps its schedule.
            let spare = try StoredSigningKey.generate(algorithm: .edDSA, kek: nil, createdAt: now, activatesAt: now + 9999)
            let withdrawal = try await store.withdrawSigningKey(first.keyID, replacement: spare, actor: "cli:test")
            #expect(withdrawal.withdrawn.keyID == first.keyID)
            #expect(withdrawal.replacement?.keyID == spare.keyID)
            #expect(withdrawal.replacement?.activatesAt == fixture.clock.seconds)
            let keys = try await store.signingKeys()
            #expect(Set(keys.map(\.keyID)) == [spare.keyID, announced.keyID])
            #expect(keys.first { $0.keyID == announced.keyID }?.activatesAt == now + 600)
            #expect(try await signer() == spare.keyID)
            #expect(SigningKeySet(stored: keys, kek: nil, now: fixture.clock.seconds).jwks.keys.compactMap(\.keyID).contains(first.keyID) == false)
            let event = try #require(try await store.recentEvents(count: 10).last)
            #expect(event.type == HallpassStore.keyWithdrawnEvent && event.actor == "cli:test")
            #expect(event.detail == "kid=\(first.keyID) replacement=\(spare.keyID) alg=EdDSA")
            #expect(StoreEventType.changesSigningKeys(event.type))

            // A key that does not sign now goes without a replacement, even if one is offered.
            let unused = try await store.withdrawSigningKey(announced.keyID, replacement: first, actor: "cli:test")
            #expect(unused.replacement == nil)
            #expect(try await store.signingKeys().map(\.keyID) == [spare.keyID])
        }
    }

    @Test func idTokenChainsRotateAndWithdrawOnTheirOwnAndNeverTouchThePrimaryChain() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            let now = fixture.clock.seconds
            let primary = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now, activatesAt: now)
            #expect(try await store.addFirstSigningKey(primary, actor: "hub"))
            #expect(HallpassStore.idTokenChainsWithoutSigner(in: try await store.signingKeys(), at: now) == JWSAlgorithm.allCases)

            // A hub adds one ID-token key per algorithm; a second hub racing with stale keys adds nothing.
            let candidates = try JWSAlgorithm.allCases.map {
                try StoredSigningKey.generate(algorithm: $0, kek: nil, createdAt: now, activatesAt: now, use: .idToken)
            }
            #expect(try await store.addIDTokenSigningKeys(candidates, actor: "hub").count == 3)
            let late = try StoredSigningKey.generate(algorithm: .rs256, kek: nil, createdAt: now, activatesAt: now, use: .idToken)
            #expect(try await store.addIDTokenSigningKeys([late], actor: "hub").isEmpty)
            var keys = try await store.signingKeys()
            #expect(keys.count == 4)
            #expect(HallpassStore.idTokenChainsWithoutSigner(in: keys, at: now).isEmpty)
            #expect(keys.filter { $0.use == .idToken }.allSatisfy { $0.state(at: now, among: keys) == .active })
            var set = SigningKeySet(stored: keys, kek: nil, now: now)
            #expect(set.signer?.keyID == primary.keyID)
            #expect(set.idTokenSigners[.rs256]?.keyID == candidates[2].keyID)
            #expect(set.verificationKeys.keyIDs == [primary.keyID])
            #expect(set.jwks.keys.count == 4)

            // Rotating the primary chain, even to RS256, leaves every ID-token key alone.
            fixture.clock.advance(seconds: 1)
            let nextPrimary = try StoredSigningKey.generate(
                algorithm: .rs256, kek: nil, createdAt: fixture.clock.seconds, activatesAt: fixture.clock.seconds)
            let rotation = try await store.rotateSigningKeys(adding: nextPrimary, actor: "cli:test")
            #expect(rotation.retiring.map(\.keyID) == [primary.keyID])
            keys = try await store.signingKeys()
            #expect(keys.filter { $0.use == .idToken }.allSatisfy { $0.retiresAt == nil })
            set = SigningKeySet(stored: keys, kek: nil, now: fixture.clock.seconds)
            #expect(set.signer?.keyID == nextPrimary.keyID)
            #expect(set.idTokenSigners[.rs256]?.keyID == candidates[2].keyID)

            // Rotating the RS256 ID-token chain retires only its own key.
            let nextRSA = try StoredSigningKey.generate(
                algorithm: .rs256, kek: nil, createdAt: fixture.clock.seconds, activatesAt: fixture.clock.seconds + 600, use: .idToken)
            let idRotation = try await store.rotateSigningKeys(adding: nextRSA, actor: "cli:test")
            #expect(idRotation.retiring.map(\.keyID) == [candidates[2].keyID])
            keys = try await store.signingKeys()
            #expect(keys.first { $0.keyID == nextPrimary.keyID }?.retiresAt == nil)
            #expect(nextRSA.state(at: fixture.clock.seconds, among: keys) == .next)
            #expect(nextPrimary.state(at: fixture.clock.seconds, among: keys) == .active)

            // Withdrawing the EdDSA ID-token signer needs an EdDSA ID-token replacement.
            let eddsa = candidates[1]
            #expect(HallpassStore.withdrawalNeedsReplacement(eddsa.keyID, in: keys, at: fixture.clock.seconds))
            let wrongChain = try StoredSigningKey.generate(algorithm: .edDSA, kek: nil, createdAt: now, activatesAt: now)
            await #expect(throws: StoreError.self) {
                try await store.withdrawSigningKey(eddsa.keyID, replacement: wrongChain, actor: "cli:test")
            }
            let replacement = try StoredSigningKey.generate(algorithm: .edDSA, kek: nil, createdAt: now, activatesAt: now, use: .idToken)
            _ = try await store.withdrawSigningKey(eddsa.keyID, replacement: replacement, actor: "cli:test")
            keys = try await store.signingKeys()
            set = SigningKeySet(stored: keys, kek: nil, now: fixture.clock.seconds)
            #expect(set.idTokenSigners[.edDSA]?.keyID == replacement.keyID)
            #expect(set.signer?.keyID == nextPrimary.keyID)

            // Validators read the public records: the use survives there too.
            let published = try await store.publicSigningKeys()
            #expect(published.first { $0.keyID == replacement.keyID }?.use == .idToken)
            #expect(published.first { $0.keyID == nextPrimary.keyID }?.use == .primary)
        }
    }

    /// Stores a first key, active now, and rotates in a second one that activates in 600 s.
    static func activeAndAnnouncedKeys(_ fixture: StoreFixture) async throws -> (active: StoredSigningKey, announced: StoredSigningKey) {
        let now = fixture.clock.seconds
        let first = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now, activatesAt: now)
        #expect(try await fixture.store.addFirstSigningKey(first, actor: "hub"))
        let announced = try StoredSigningKey.generate(algorithm: .es256, kek: nil, createdAt: now, activatesAt: now + 600)
        _ = try await fixture.store.rotateSigningKeys(adding: announced, actor: "cli:test")
        return (first, announced)
    }
}
