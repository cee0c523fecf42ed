public import HallpassCrypto
public import HallpassJOSE

/// Why a stored signing key cannot be used.
public enum SigningKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The private key is sealed under a key-encryption key and none was configured.
    case sealedWithoutKEK(keyID: String)
    /// The sealed private key does not open under the configured key-encryption key.
    case wrongKEK(keyID: String)
    /// The stored record does not hold a usable key.
    case invalidKey(keyID: String, reason: String)

    public var description: String {
        switch self {
        case .sealedWithoutKEK(let kid): "signing key \(kid) is encrypted and no key-encryption key (--kek-file) was given"
        case .wrongKEK(let kid): "signing key \(kid) does not decrypt with the given key-encryption key"
        case .invalidKey(let kid, let reason): "signing key \(kid) is unusable: \(reason)"
        }
    }
}

extension StoredSigningKey {
    /// A new key for `algorithm`, its private half sealed under `kek` when one is given.
    ///
    /// The key id is the RFC 7638 thumbprint; the seal's associated data is the key id, so a
    /// sealed key cannot be moved to another record.
    public static func generate(
        algorithm: JWSAlgorithm, kek: SymmetricKey?, createdAt: Int64, activatesAt: Int64, use: SigningKeyUse = .primary
    ) throws(CryptoError) -> StoredSigningKey {
        let privateKey = try PrivateKey.generate(algorithm.keyType)
        let jwk = try JWK(publicKey: privateKey.publicKey)
        let kid = jwk.thumbprint
        let pem = privateKey.pemRepresentation
        let stored: String
        if let kek {
            stored = UnpaddedBase64.standard.encode(try AES256GCM.seal(Array(pem.utf8), using: kek, authenticating: Array(kid.utf8)))
        } else {
            stored = pem
        }
        return StoredSigningKey(
            keyID: kid, algorithm: algorithm.rawValue, publicJWK: JWK(components: jwk.components, keyID: kid, algorithm: algorithm).json.serializedString,
            privateKey: stored, isSealed: kek != nil, createdAt: createdAt, activatesAt: activatesAt, use: use)
    }

    /// The public key, as published in JWKS.
    public func jwk() throws(SigningKeyError) -> JWK {
        do {
            return try JWK(json: JSONParser.parse(Array(publicJWK.utf8)))
        } catch {
            throw .invalidKey(keyID: keyID, reason: "public JWK: \(error)")
        }
    }

    /// A signer for this key, unsealing it with `kek` if it is sealed.
    public func signer(kek: SymmetricKey?) throws(SigningKeyError) -> JWTSigner {
        let pem: String
        if isSealed {
            guard let kek else { throw .sealedWithoutKEK(keyID: keyID) }
            let sealed: [UInt8]
            do { sealed = try UnpaddedBase64.standard.decode(privateKey) } catch {
                throw .invalidKey(keyID: keyID, reason: "sealed key is not base64")
            }
            do {
                pem = String(decoding: try AES256GCM.open(sealed, using: kek, authenticating: Array(keyID.utf8)), as: UTF8.self)
            } catch {
                throw .wrongKEK(keyID: keyID)
            }
        } else {
            pem = privateKey
        }
        do {
            let key = try PrivateKey(pem: pem)
            let signer = try JWTSigner(privateKey: key, keyID: keyID)
            guard signer.algorithm.rawValue == algorithm else {
                throw SigningKeyError.invalidKey(keyID: keyID, reason: "key type does not match \(algorithm)")
            }
            return signer
        } catch let error as SigningKeyError {
            throw error
        } catch {
            throw .invalidKey(keyID: keyID, reason: "private key: \(error)")
        }
    }

    /// Whether the key is published at `now` (Unix s): announced or signing, and not retired.
    public func isPublished(at now: Int64) -> Bool { retiresAt.map { now < $0 } ?? true }
}

/// The signing keys in force at one moment: the ones that sign, and every one that verifies.
public struct SigningKeySet: Sendable {
    /// The key access tokens (and logout tokens, and the ID tokens of clients that ask for no
    /// algorithm) are signed with: the primary chain's signer. `nil` if there is none or it
    /// cannot be unsealed.
    public let signer: JWTSigner?
    /// The signer of each ID-token chain (``SigningKeyChain/idToken(_:)``), by algorithm.
    public let idTokenSigners: [JWSAlgorithm: JWTSigner]
    /// Every published primary key, including announced keys not yet signing and retiring keys
    /// whose tokens may still be live: the keys an access token may be signed with. ID-token
    /// keys are left out, so no access token signed with one is ever accepted.
    public let verificationKeys: VerificationKeys
    /// Every published key, of every chain, as JWKS (relying parties verify ID tokens with it).
    public let jwks: JWKSet
    /// Keys that could not be used, with the reason, for the log.
    public let problems: [SigningKeyError]

    /// The set in force at `now` (Unix s).
    public init(stored: [StoredSigningKey], kek: SymmetricKey?, now: Int64) {
        var problems: [SigningKeyError] = []
        var jwks: [JWK] = []
        var keys: [VerificationKeys.Key] = []
        let published = stored.filter { $0.isPublished(at: now) }
        for key in published {
            do {
                let jwk = try key.jwk()
                if key.use == .primary { keys.append(VerificationKeys.Key(keyID: key.keyID, publicKey: try jwk.publicKey())) }
                jwks.append(jwk)
            } catch let error as SigningKeyError {
                problems.append(error)
            } catch {
                problems.append(.invalidKey(keyID: key.keyID, reason: "\(error)"))
            }
        }
        var signer: JWTSigner?
        if let active = Self.signingKey(in: published, at: now) {
            do { signer = try active.signer(kek: kek) } catch { problems.append(error) }
        }
        var idTokenSigners: [JWSAlgorithm: JWTSigner] = [:]
        for algorithm in JWSAlgorithm.allCases {
            guard let active = Self.signingKey(in: published, at: now, chain: .idToken(algorithm.rawValue)) else { continue }
            do { idTokenSigners[algorithm] = try active.signer(kek: kek) } catch { problems.append(error) }
        }
        self.signer = signer
        self.idTokenSigners = idTokenSigners
        self.verificationKeys = VerificationKeys(keys)
        self.jwks = JWKSet(keys: jwks)
        self.problems = problems
    }

    /// The algorithms ID tokens can be signed with now: the primary signer's and those of the
    /// ID-token chains that have a signer.
    public var idTokenAlgorithms: Set<JWSAlgorithm> {
        Set(idTokenSigners.keys).union(signer.map { [$0.algorithm] } ?? [])
    }
}
