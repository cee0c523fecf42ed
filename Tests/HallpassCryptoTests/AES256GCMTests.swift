@testable import HallpassCrypto
import Testing

@Suite("AES-256-GCM: known answers, round trips, tamper detection")
struct AES256GCMTests {
    /// One published known-answer case: key, 96-bit IV, plaintext, AAD, ciphertext, tag (hex).
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let key: String
        let iv: String
        let plaintext: String
        let aad: String
        let ciphertext: String
        let tag: String
        var testDescription: String { name }
    }

    // McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", appendix B, test cases
    // 13 to 16: the AES-256 cases with a 96-bit IV (the only nonce length Hallpass uses).
    static let vectors = [
        Vector(
            name: "Test Case 13 (empty plaintext, no AAD)",
            key: String(repeating: "00", count: 32),
            iv: String(repeating: "00", count: 12),
            plaintext: "", aad: "", ciphertext: "",
            tag: "530f8afbc74536b9a963b4f1c4cb738b"
        ),
        Vector(
            name: "Test Case 14 (one zero block, no AAD)",
            key: String(repeating: "00", count: 32),
            iv: String(repeating: "00", count: 12),
            plaintext: String(repeating: "00", count: 16), aad: "",
            ciphertext: "cea7403d4d606b6e074ec5d3baf39d18",
            tag: "d0d1c8a799996bf0265b98b5d48ab919"
        ),
        Vector(
            name: "Test Case 15 (four blocks, no AAD)",
            key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            iv: "cafebabefacedbaddecaf888",
            plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
            aad: "",
            ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
            tag: "b094dac5d93471bdec1a502270e3cc6c"
        ),
        Vector(
            name: "Test Case 16 (partial last block, 20-byte AAD)",
            key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
            iv: "cafebabefacedbaddecaf888",
            plaintext: "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            ciphertext: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            tag: "76fc6ece0f4e1768cddf8853bb2d551b"
        ),
    ]

    /// Bytes from test-vector hex; the vectors above are well-formed, so a bad digit is a typo.
    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { index in
            let pair = String(decoding: digits[index..<index + 2], as: UTF8.self)
            guard let byte = UInt8(pair, radix: 16) else { fatalError("bad hex in test vector: \(pair)") }
            return byte
        }
    }

    static let key = SymmetricKey.generate()
    static let message = Array("the key-encryption key wraps this signing key".utf8)

    @Test("McGrew–Viega AES-256 test cases seal and open exactly", arguments: vectors)
    func knownAnswers(vector: Vector) throws {
        let key = try SymmetricKey(bytes: Self.bytes(vector.key))
        let sealed = try AES256GCM.seal(
            Self.bytes(vector.plaintext), using: key, nonce: Self.bytes(vector.iv), authenticating: Self.bytes(vector.aad)
        )
        #expect(hexString(sealed) == vector.iv + vector.ciphertext + vector.tag)
        #expect(try AES256GCM.open(sealed, using: key, authenticating: Self.bytes(vector.aad)) == Self.bytes(vector.plaintext))
    }

    @Test("round trip of assorted lengths, with and without AAD; output is 28 bytes longer")
    func roundTrip() throws {
        for length in [0, 1, 15, 16, 17, 31, 32, 33, 64, 1000, 70_000] {
            let plaintext = try SecureRandom.bytes(count: length)
            for aad in [[], [0x00], Array("record:usr_1".utf8)] as [[UInt8]] {
                let sealed = try AES256GCM.seal(plaintext, using: Self.key, authenticating: aad)
                #expect(sealed.count == length + 28)
                #expect(try AES256GCM.open(sealed, using: Self.key, authenticating: aad) == plaintext)
            }
        }
        // The default AAD is empty, in both directions.
        let sealed = try AES256GCM.seal(Self.message, using: Self.key)
        #expect(try AES256GCM.open(sealed, using: Self.key, authenticating: []) == Self.message)
    }

    @Test("two seals of the same plaintext differ (a fresh random nonce each time)")
    func freshNonces() throws {
        let first = try AES256GCM.seal(Self.message, using: Self.key)
        let second = try AES256GCM.seal(Self.message, using: Self.key)
        #expect(first != second)
        // The difference is the nonce, and with it every ciphertext and tag byte.
        #expect(first.prefix(12) != second.prefix(12))
        #expect(first.dropFirst(12) != second.dropFirst(12))
        #expect(try AES256GCM.open(first, using: Self.key) == AES256GCM.open(second, using: Self.key))
    }

    @Test("flipping any bit of nonce, ciphertext or tag makes open throw decryptionFailed")
    func tamperedBytes() throws {
        let sealed = try AES256GCM.seal(Self.message, using: Self.key, authenticating: [1, 2, 3])
        for index in sealed.indices {
            for bit in [0, 7] {
                var altered = sealed
                altered[index] ^= 1 << bit
                #expect(throws: CryptoError.decryptionFailed) {
                    try AES256GCM.open(altered, using: Self.key, authenticating: [1, 2, 3])
                }
            }
        }
        #expect(try AES256GCM.open(sealed, using: Self.key, authenticating: [1, 2, 3]) == Self.message)
    }

    @Test("altered, missing or extra AAD makes open throw decryptionFailed")
    func tamperedAAD() throws {
        let aad = Array("record:usr_1".utf8)
        let sealed = try AES256GCM.seal(Self.message, using: Self.key, authenticating: aad)
        for other in [Array("record:usr_2".utf8), [], aad + [0], Array(aad.dropLast())] {
            #expect(throws: CryptoError.decryptionFailed) { try AES256GCM.open(sealed, using: Self.key, authenticating: other) }
        }
        // Sealed without AAD, opened with some.
        let bare = try AES256GCM.seal(Self.message, using: Self.key)
        #expect(throws: CryptoError.decryptionFailed) { try AES256GCM.open(bare, using: Self.key, authenticating: [0]) }
    }

    @Test("another key makes open throw decryptionFailed")
    func wrongKey() throws {
        let sealed = try AES256GCM.seal(Self.message, using: Self.key)
        #expect(throws: CryptoError.decryptionFailed) { try AES256GCM.open(sealed, using: SymmetricKey.generate()) }
        // Even with an empty plaintext, where only the tag depends on the key.
        let empty = try AES256GCM.seal([], using: Self.key)
        #expect(throws: CryptoError.decryptionFailed) { try AES256GCM.open(empty, using: SymmetricKey.generate()) }
        #expect(try AES256GCM.open(empty, using: Self.key) == [])
    }

    @Test("input shorter than nonce and tag throws sealedDataTooShort; truncated input throws")
    func truncated() throws {
        for length in [0, 1, 12, 16, 27] {
            #expect(throws: CryptoError.sealedDataTooShort(length)) {
                try AES256GCM.open([UInt8](repeating: 0, count: length), using: Self.key)
            }
        }
        // 28 bytes is the right shape for an empty plaintext, but the tag is wrong.
        #expect(throws: CryptoError.decryptionFailed) {
            try AES256GCM.open([UInt8](repeating: 0, count: 28), using: Self.key)
        }
        let sealed = try AES256GCM.seal(Self.message, using: Self.key)
        for cut in [sealed.dropLast(), sealed.dropFirst(), sealed.dropLast(16), sealed.dropLast(17)] {
            #expect(throws: CryptoError.decryptionFailed) { try AES256GCM.open(Array(cut), using: Self.key) }
        }
        #expect(throws: CryptoError.sealedDataTooShort(27)) { try AES256GCM.open(Array(sealed.prefix(27)), using: Self.key) }
        // Extra bytes at the end are tampering too.
        #expect(throws: CryptoError.decryptionFailed) { try AES256GCM.open(sealed + [0], using: Self.key) }
    }

    @Test("a failed open leaves nothing on OpenSSL's error queue")
    func errorQueueClean() throws {
        // The queue is per thread and this test is synchronous, so it runs on one thread
        // throughout; start from an empty queue in case an earlier test on it left something.
        _ = CryptoError.fromQueue("drain")
        var sealed = try AES256GCM.seal(Self.message, using: Self.key)
        sealed[sealed.count - 1] ^= 1
        #expect(throws: CryptoError.decryptionFailed) { try AES256GCM.open(sealed, using: Self.key) }
        // A later, unrelated failure must report only its own reason.
        #expect(CryptoError.fromQueue("probe") == .openSSL(operation: "probe", reason: "unknown error"))
    }
}
