public import HallpassCrypto

/// Signs JWTs (JWS compact serialization, RFC 7515 section 7.1) with one private key.
///
/// The key decides the algorithm; the header always names that algorithm and the key's `kid`.
public struct JWTSigner: Sendable {
    /// The signing key.
    public let privateKey: PrivateKey
    /// The `kid` written into every header.
    public let keyID: String

    /// The algorithm the key signs with.
    public var algorithm: JWSAlgorithm { JWSAlgorithm(keyType: privateKey.type) }

    /// A signer whose `kid` is the RFC 7638 thumbprint of its public key unless `keyID` is given.
    public init(privateKey: PrivateKey, keyID: String? = nil) throws(CryptoError) {
        self.privateKey = privateKey
        if let keyID {
            self.keyID = keyID
        } else {
            self.keyID = try JWK(publicKey: privateKey.publicKey).thumbprint
        }
    }

    /// The public JWK that verifies this signer's tokens.
    public func publicJWK() throws(CryptoError) -> JWK {
        try JWK(publicKey: privateKey.publicKey, keyID: keyID)
    }

    /// Signs `claims` with header `{"alg", "kid", "typ"}`; `type` nil leaves out `typ`.
    public func sign(claims: [String: JSONValue], type: String? = "at+jwt") throws(CryptoError) -> String {
        var header: [String: JSONValue] = ["alg": .string(algorithm.rawValue), "kid": .string(keyID)]
        if let type { header["typ"] = .string(type) }
        return try sign(header: header, claims: claims)
    }

    /// Signs `claims` under a caller-built header. `alg` is always set to the key's algorithm.
    public func sign(header: [String: JSONValue], claims: [String: JSONValue]) throws(CryptoError) -> String {
        var header = header
        header["alg"] = .string(algorithm.rawValue)
        let signingInput = Self.segment(header) + "." + Self.segment(claims)
        let signature = try privateKey.signature(for: signingInput.utf8)
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// The compact-serialization segment for a JSON object: base64url of its sorted, compact JSON.
    ///
    /// The validator's known-header table uses this too; the two must agree byte for byte.
    static func segment(_ members: [String: JSONValue]) -> String {
        Base64URL.encode(JSONValue.object(members).serialized)
    }
}
