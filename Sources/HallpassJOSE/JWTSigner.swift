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

    /// The base64url header segments of `sign(claims:type:)` and `sign(payload:type:)` for
    /// the types this library's users sign most, so no token on a hot path serializes and
    /// encodes the same three members again.
    private let commonHeaderSegments: [String?: String]

    /// A signer whose `kid` is the RFC 7638 thumbprint of its public key unless `keyID` is given.
    public init(privateKey: PrivateKey, keyID: String? = nil) throws(CryptoError) {
        self.privateKey = privateKey
        let keyID = if let keyID { keyID } else { try JWK(publicKey: privateKey.publicKey).thumbprint }
        self.keyID = keyID
        let algorithm = JWSAlgorithm(keyType: privateKey.type)
        var segments: [String?: String] = [:]
        for type in [nil, "at+jwt", "JWT", "logout+jwt"] as [String?] {
            segments[type] = Self.segment(Self.header(algorithm: algorithm, keyID: keyID, type: type))
        }
        self.commonHeaderSegments = segments
    }

    /// The public JWK that verifies this signer's tokens.
    public func publicJWK() throws(CryptoError) -> JWK {
        try JWK(publicKey: privateKey.publicKey, keyID: keyID)
    }

    /// Signs `claims` with header `{"alg", "kid", "typ"}`; `type` nil leaves out `typ`.
    public func sign(claims: [String: JSONValue], type: String? = "at+jwt") throws(CryptoError) -> String {
        try sign(payload: JSONValue.object(claims).serialized, type: type)
    }

    /// Signs a claim set already serialized as a JSON object (see ``JSONObjectWriter``), with
    /// header `{"alg", "kid", "typ"}`; `type` nil leaves out `typ`.
    public func sign(payload: [UInt8], type: String? = "at+jwt") throws(CryptoError) -> String {
        let header = commonHeaderSegments[type] ?? Self.segment(Self.header(algorithm: algorithm, keyID: keyID, type: type))
        return try sign(signingInput: header + "." + Base64URL.encode(payload))
    }

    /// Signs `claims` under a caller-built header. `alg` is always set to the key's algorithm.
    public func sign(header: [String: JSONValue], claims: [String: JSONValue]) throws(CryptoError) -> String {
        var header = header
        header["alg"] = .string(algorithm.rawValue)
        return try sign(signingInput: Self.segment(header) + "." + Self.segment(claims))
    }

    private func sign(signingInput: String) throws(CryptoError) -> String {
        let signature = try privateKey.signature(for: signingInput.utf8)
        return signingInput + "." + Base64URL.encode(signature)
    }

    private static func header(algorithm: JWSAlgorithm, keyID: String, type: String?) -> [String: JSONValue] {
        var header: [String: JSONValue] = ["alg": .string(algorithm.rawValue), "kid": .string(keyID)]
        if let type { header["typ"] = .string(type) }
        return header
    }

    /// The compact-serialization segment for a JSON object: base64url of its sorted, compact JSON.
    ///
    /// The validator's known-header table uses this too; the two must agree byte for byte.
    static func segment(_ members: [String: JSONValue]) -> String {
        Base64URL.encode(JSONValue.object(members).serialized)
    }
}
