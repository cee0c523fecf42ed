import HallpassCrypto
import HallpassJOSE

// A file of its own (no Hummingbird) so that the `redirect-uri` fuzz target can compile it.

/// PKCE (RFC 7636) with the S256 method only: `plain` would send the verifier itself through
/// the browser.
enum PKCE {
    /// `BASE64URL(SHA256(ASCII(verifier)))`, section 4.2.
    static func challenge(for verifier: String) -> String { Base64URL.encode(Digest.sha256(Array(verifier.utf8))) }

    /// Section 4.1: 43-128 unreserved characters.
    static func isValidVerifier(_ verifier: String) -> Bool {
        (43...128).contains(verifier.utf8.count) && verifier.utf8.allSatisfy(Self.isUnreserved)
    }

    /// An S256 challenge: a SHA-256 digest in unpadded base64url, 43 characters in the
    /// canonical form (the last one's unused low bits zero), since that is all
    /// `challenge(for:)` can produce: any other challenge names a code no verifier redeems.
    static func isValidChallenge(_ challenge: String) -> Bool {
        challenge.utf8.count == 43 && (try? UnpaddedBase64.url.decode(challenge))?.count == 32
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default: false
        }
    }
}
