import HallpassCrypto
import Testing

@Suite("Digests, randomness, constant-time comparison")
struct PrimitiveTests {
    // FIPS 180-2 appendix B.1 and the empty-message digest.
    @Test("SHA-256 known answers")
    func sha256() {
        #expect(hexString(Digest.sha256(Array("abc".utf8)))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(Digest.sha256([UInt8]()))
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // A sequence without contiguous storage takes the copying path and must agree.
        #expect(Digest.sha256("abc".utf8.lazy.map { $0 }) == Digest.sha256(Array("abc".utf8)))
    }

    // FIPS 180-2 appendix A.1.
    @Test("SHA-1 known answer")
    func sha1() {
        #expect(hexString(Digest.sha1(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    @Test("hexString writes lowercase pairs")
    func hex() {
        #expect(hexString([0x00, 0x0f, 0xa0, 0xff]) == "000fa0ff")
        #expect(hexString([UInt8]()) == "")
    }

    @Test("SecureRandom returns the requested number of fresh bytes")
    func secureRandom() throws {
        let first = try SecureRandom.bytes(count: 32)
        let second = try SecureRandom.bytes(count: 32)
        #expect(first.count == 32)
        #expect(second.count == 32)
        // Equal outputs have probability 2^-256: seeing one means the generator is broken.
        #expect(first != second)
        #expect(first != [UInt8](repeating: 0, count: 32))
        #expect(try SecureRandom.bytes(count: 0) == [])
        #expect(try SecureRandom.bytes(count: 1000).count == 1000)
    }

    @Test("ConstantTime.equals compares bytes and lengths")
    func constantTimeEquals() {
        let base: [UInt8] = Array(0..<64)
        #expect(ConstantTime.equals(base, base))
        #expect(ConstantTime.equals(base, Array(base)))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        var first = base
        first[0] ^= 0x80
        #expect(!ConstantTime.equals(base, first))
        var last = base
        last[63] ^= 0x01
        #expect(!ConstantTime.equals(base, last))
        #expect(!ConstantTime.equals(base, base.dropLast()))
        #expect(!ConstantTime.equals(base, base + [0]))
        #expect(!ConstantTime.equals([UInt8](), [0]))
        // Different sequence types holding the same bytes are equal.
        #expect(ConstantTime.equals("secret".utf8, Array("secret".utf8)))
        #expect(ConstantTime.equals("secret".utf8.lazy.map { $0 }, ArraySlice("secret".utf8)))
        #expect(!ConstantTime.equals("secret".utf8, "Secret".utf8))
    }
}
