public import HallpassCrypto

/// The public keys a validator trusts, by `kid`, each bound to the one algorithm it allows.
public struct VerificationKeys: Sendable {
    /// One trusted key.
    public struct Key: Sendable {
        /// Its `kid`, or nil for a key used with tokens that carry none.
        public let keyID: String?
        /// The key.
        public let publicKey: PublicKey
        /// The only algorithm tokens verified by this key may use.
        public var algorithm: JWSAlgorithm { JWSAlgorithm(keyType: publicKey.type) }

        /// A trusted key.
        public init(keyID: String?, publicKey: PublicKey) {
            self.keyID = keyID
            self.publicKey = publicKey
        }
    }

    private var byID: [String: Key]
    private var withoutID: Key?

    /// Trusts `keys`. A key without `kid` verifies tokens without `kid` and is only allowed
    /// when it is the sole key, so a token can never choose among several keys by omission.
    public init(_ keys: [Key]) {
        var byID: [String: Key] = [:]
        var withoutID: Key?
        for key in keys {
            if let id = key.keyID { byID[id] = key } else { withoutID = key }
        }
        self.byID = byID
        self.withoutID = keys.count == 1 ? withoutID : nil
    }

    /// Trusts every key of a JWK Set, checking each one with OpenSSL.
    public init(jwks: JWKSet) throws(JWKError) {
        var keys: [Key] = []
        for jwk in jwks.keys {
            keys.append(Key(keyID: jwk.keyID, publicKey: try jwk.publicKey()))
        }
        self.init(keys)
    }

    /// The key for a token's `kid`.
    public func key(for keyID: String?) -> Key? {
        guard let keyID else { return withoutID }
        return byID[keyID]
    }

    /// Every trusted key.
    public var all: [Key] {
        Array(byID.values) + (withoutID.map { [$0] } ?? [])
    }

    /// The `kid`s of all trusted keys.
    public var keyIDs: [String] { Array(byID.keys) }
}
