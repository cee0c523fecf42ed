public import HallpassCrypto

/// Why a JSON Web Key (or key set) could not be read.
public enum JWKError: Error, Equatable, Sendable {
    /// The JSON is not a JWK object, or a member has the wrong type.
    case malformed(String)
    /// A key type or curve this library does not use; a key set skips such keys (RFC 7517 section 5).
    case unsupported(String)
    /// The key carries private members (`d`, `p`, ...): a published key set must never have them.
    case containsPrivateKey
    /// The numbers do not form a valid key (wrong length, point not on the curve, ...).
    case invalidKey(CryptoError)
    /// The `alg` or `use` member contradicts the key.
    case inconsistent(String)
}

/// A public JSON Web Key (RFC 7517) for signature verification: EC P-256, OKP Ed25519 or RSA.
public struct JWK: Sendable, Hashable {
    /// The public numbers.
    public var components: PublicKeyComponents
    /// `kid`: Hallpass uses the RFC 7638 thumbprint.
    public var keyID: String?
    /// `alg`, when the key names its algorithm.
    public var algorithm: JWSAlgorithm?

    /// The key type the numbers belong to.
    public var keyType: KeyType {
        switch components {
        case .p256: .p256
        case .ed25519: .ed25519
        case .rsa: .rsa
        }
    }

    /// A JWK for `publicKey`, named by its RFC 7638 thumbprint unless `keyID` is given.
    public init(publicKey: PublicKey, keyID: String? = nil) throws(CryptoError) {
        self.components = try publicKey.components()
        self.algorithm = JWSAlgorithm(keyType: publicKey.type)
        self.keyID = nil
        self.keyID = keyID ?? thumbprint
    }

    /// A JWK from its members.
    public init(components: PublicKeyComponents, keyID: String?, algorithm: JWSAlgorithm?) {
        self.components = components
        self.keyID = keyID
        self.algorithm = algorithm
    }

    /// Reads a JWK from its JSON form.
    public init(json: JSONValue) throws(JWKError) {
        guard let members = json.objectValue else { throw .malformed("a JWK must be a JSON object") }
        for name in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] where members[name] != nil {
            throw .containsPrivateKey
        }
        func string(_ name: String) throws(JWKError) -> String {
            guard let value = members[name]?.stringValue else { throw .malformed("member \(name) must be a string") }
            return value
        }
        func bytes(_ name: String) throws(JWKError) -> [UInt8] {
            do { return try Base64URL.decode(try string(name)) } catch let error as JWKError {
                throw error
            } catch {
                throw .malformed("member \(name) is not base64url")
            }
        }
        let kty = try string("kty")
        switch kty {
        case "EC":
            let crv = try string("crv")
            guard crv == "P-256" else { throw .unsupported("EC curve \(crv)") }
            components = .p256(x: try bytes("x"), y: try bytes("y"))
        case "OKP":
            let crv = try string("crv")
            guard crv == "Ed25519" else { throw .unsupported("OKP curve \(crv)") }
            components = .ed25519(x: try bytes("x"))
        case "RSA":
            components = .rsa(modulus: Self.stripLeadingZeros(try bytes("n")), exponent: Self.stripLeadingZeros(try bytes("e")))
        default:
            throw .unsupported("key type \(kty)")
        }
        if let kid = members["kid"] {
            guard let kid = kid.stringValue else { throw .malformed("member kid must be a string") }
            keyID = kid
        } else {
            keyID = nil
        }
        if let alg = members["alg"] {
            guard let name = alg.stringValue else { throw .malformed("member alg must be a string") }
            guard let parsed = JWSAlgorithm(rawValue: name) else { throw .unsupported("algorithm \(name)") }
            algorithm = parsed
        } else {
            algorithm = nil
        }
        if let use = members["use"] {
            guard use.stringValue == "sig" else { throw .unsupported("use other than sig") }
        }
        if let algorithm, algorithm.keyType != keyType {
            throw .inconsistent("alg \(algorithm.rawValue) does not fit a \(keyType.rawValue) key")
        }
    }

    /// The JWK as JSON: the public members, `kid`, `alg` and `use: "sig"`.
    public var json: JSONValue {
        var members = Self.requiredMembers(components)
        if let keyID { members["kid"] = .string(keyID) }
        members["alg"] = .string((algorithm ?? JWSAlgorithm(keyType: keyType)).rawValue)
        members["use"] = "sig"
        return .object(members)
    }

    /// The RFC 7638 thumbprint: base64url SHA-256 of the required members, sorted, compact.
    public var thumbprint: String {
        Base64URL.encode(Digest.sha256(JSONValue.object(Self.requiredMembers(components)).serialized))
    }

    /// The key, checked by OpenSSL (a P-256 point must lie on the curve).
    public func publicKey() throws(JWKError) -> PublicKey {
        do { return try PublicKey(components: components) } catch { throw .invalidKey(error) }
    }

    private static func requiredMembers(_ components: PublicKeyComponents) -> [String: JSONValue] {
        switch components {
        case .p256(let x, let y):
            ["kty": "EC", "crv": "P-256", "x": .string(Base64URL.encode(x)), "y": .string(Base64URL.encode(y))]
        case .ed25519(let x):
            ["kty": "OKP", "crv": "Ed25519", "x": .string(Base64URL.encode(x))]
        case .rsa(let modulus, let exponent):
            ["kty": "RSA", "n": .string(Base64URL.encode(modulus)), "e": .string(Base64URL.encode(exponent))]
        }
    }

    private static func stripLeadingZeros(_ bytes: [UInt8]) -> [UInt8] {
        // RFC 7518 says n and e have no leading zeros; some encoders add one anyway. The numbers
        // are the same, and the thumbprint must be computed over the minimal form.
        let trimmed = bytes.drop { $0 == 0 }
        return trimmed.isEmpty ? [0] : Array(trimmed)
    }
}

/// A JWK Set (RFC 7517 section 5): the `keys` a verifier may trust.
public struct JWKSet: Sendable, Hashable {
    /// The keys, in publication order.
    public var keys: [JWK]

    /// A set of `keys`.
    public init(keys: [JWK]) {
        self.keys = keys
    }

    /// Reads `{"keys": [...]}`, skipping keys of types this library does not use.
    public init(json: JSONValue) throws(JWKError) {
        guard let members = json.objectValue, let entries = members["keys"]?.arrayValue else {
            throw .malformed("a JWK Set must be an object with a keys array")
        }
        var keys: [JWK] = []
        for entry in entries {
            do {
                keys.append(try JWK(json: entry))
            } catch .unsupported {
                continue
            }
        }
        self.keys = keys
    }

    /// Reads a JWK Set from UTF-8 JSON.
    public init(jsonBytes: some Sequence<UInt8>) throws(JWKError) {
        let json: JSONValue
        do { json = try JSONParser.parse(jsonBytes) } catch { throw .malformed("not JSON: \(error)") }
        try self.init(json: json)
    }

    /// `{"keys": [...]}`.
    public var json: JSONValue {
        .object(["keys": .array(keys.map(\.json))])
    }
}
