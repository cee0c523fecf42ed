import HallpassCrypto
import Testing

/// HMAC against the published vectors: RFC 2202 for HMAC-SHA-1, RFC 4231 for SHA-256/-512
/// (test cases 1, 2 and 6: a short key, a key shorter than the output, and a key longer than
/// the block, which HMAC hashes first), plus the empty key and message.
@Suite("HMAC")
struct HMACTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let name: String
        let key: [UInt8]
        let message: [UInt8]
        let sha1: String
        let sha256: String
        let sha512: String
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(
            name: "RFC 4231 test case 1",
            key: [UInt8](repeating: 0x0b, count: 20),
            message: Array("Hi There".utf8),
            sha1: "b617318655057264e28bc0b6fb378c8ef146be00",
            sha256: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            sha512: "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                + "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
        ),
        Vector(
            name: "RFC 4231 test case 2",
            key: Array("Jefe".utf8),
            message: Array("what do ya want for nothing?".utf8),
            sha1: "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            sha256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            sha512: "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                + "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        ),
        Vector(
            name: "RFC 4231 test case 6 (key longer than the block)",
            key: [UInt8](repeating: 0xaa, count: 131),
            message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            sha1: "90d0dace1c1bdc957339307803160335bde6df2b",
            sha256: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            sha512: "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
                + "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
        ),
        Vector(
            name: "empty key and message",
            key: [],
            message: [],
            sha1: "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d",
            sha256: "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
            sha512: "b936cee86c9f87aa5d3c6f2e84cb5a4239a5fe50480a6ec66b70ab5b1f4ac673"
                + "0c6c515421b327ec1d69402e53dfb49ad7381eb067b338fd7b0cb22247225d47"
        ),
    ]

    @Test("known answers", arguments: vectors)
    func knownAnswers(_ vector: Vector) {
        #expect(hexString(HMAC.sha1(key: vector.key, message: vector.message)) == vector.sha1)
        #expect(hexString(HMAC.sha256(key: vector.key, message: vector.message)) == vector.sha256)
        #expect(hexString(HMAC.sha512(key: vector.key, message: vector.message)) == vector.sha512)
    }

    @Test("sequences without contiguous storage give the same MAC")
    func nonContiguous() {
        let key = Array("Jefe".utf8)
        let message = "what do ya want for nothing?"
        #expect(HMAC.sha256(key: key.lazy.map { $0 }, message: message.utf8.lazy.map { $0 })
            == HMAC.sha256(key: key, message: Array(message.utf8)))
    }
}
