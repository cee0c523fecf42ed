import COpenSSL

/// The kinds of asymmetric key Hallpass signs and verifies with.
///
/// Each key type fixes its signature algorithm: a key never signs or verifies in two ways.
/// That is what lets a token verifier trust the key, not the token, to choose the algorithm.
public enum KeyType: String, Sendable, Hashable, CaseIterable {
    /// ECDSA on NIST P-256 with SHA-256 (JWS `ES256`).
    case p256 = "P-256"
    /// Ed25519 (JWS `EdDSA`).
    case ed25519 = "Ed25519"
    /// RSA PKCS #1 v1.5 with SHA-256 (JWS `RS256`), at least 2048 bits.
    case rsa = "RSA"
}

/// The public numbers of a key, as JWK carries them (big-endian, unsigned).
public enum PublicKeyComponents: Sendable, Hashable {
    /// A P-256 point: `x` and `y`, 32 bytes each.
    case p256(x: [UInt8], y: [UInt8])
    /// An Ed25519 public key: 32 bytes.
    case ed25519(x: [UInt8])
    /// An RSA modulus and public exponent, without leading zero bytes.
    case rsa(modulus: [UInt8], exponent: [UInt8])
}

/// A public key that verifies signatures.
///
/// Signatures are in the fixed-length forms JOSE uses (RFC 7518, RFC 8037): ECDSA as the
/// 64-byte concatenation r‖s, Ed25519 as 64 bytes, RSA as PKCS #1 v1.5 of the modulus length.
public struct PublicKey: Sendable {
    let key: EVPKey
    /// What kind of key this is; it decides the signature algorithm.
    public let type: KeyType

    init(_ key: EVPKey) throws(CryptoError) {
        self.key = key
        self.type = try key.keyType()
    }

    /// Reads a `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) document.
    public init(pem: String) throws(CryptoError) {
        try self.init(PEM.readPublicKey(pem))
    }

    /// Builds a key from its public numbers, checking them (a P-256 point must lie on the curve).
    public init(components: PublicKeyComponents) throws(CryptoError) {
        switch components {
        case .p256(let x, let y):
            guard x.count == 32, y.count == 32 else {
                throw CryptoError.invalidKeyMaterial("P-256 coordinates must be 32 bytes each")
            }
            // A fixed DER SubjectPublicKeyInfo prefix for id-ecPublicKey on prime256v1, then the
            // uncompressed point; d2i_PUBKEY rejects points that are not on the curve.
            let der = Self.p256SPKIPrefix + [0x04] + x + y
            let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
                var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
                return d2i_PUBKEY(nil, &cursor, buffer.count)
            }
            guard let parsed else {
                ERR_clear_error()
                throw CryptoError.invalidKeyMaterial("the point is not on P-256")
            }
            try self.init(EVPKey(taking: parsed))
        case .ed25519(let x):
            guard x.count == 32 else { throw CryptoError.invalidKeyMaterial("Ed25519 public key must be 32 bytes") }
            guard let raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, x, x.count) else {
                throw CryptoError.fromQueue("EVP_PKEY_new_raw_public_key")
            }
            try self.init(EVPKey(taking: raw))
        case .rsa(let modulus, let exponent):
            try self.init(Self.rsaKey(modulus: modulus, exponent: exponent))
        }
    }

    private static let p256SPKIPrefix: [UInt8] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
        0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ]

    private static func rsaKey(modulus: [UInt8], exponent: [UInt8]) throws(CryptoError) -> EVPKey {
        guard !modulus.isEmpty, !exponent.isEmpty, exponent.count <= 8 else {
            throw CryptoError.invalidKeyMaterial("RSA modulus or exponent is empty or oversized")
        }
        // OSSL_PARAM_BLD keeps each parameter name by pointer, and the OSSL_PARAM array it
        // builds points at those names too. A Swift String passed as `const char *` is only
        // valid for the one call, so the names must be pinned until EVP_PKEY_fromdata is done.
        let result = OSSL_PKEY_PARAM_RSA_N.withCString { nName in
            OSSL_PKEY_PARAM_RSA_E.withCString { eName in
                Result { () throws(CryptoError) -> EVPKey in
                    try rsaKey(modulus: modulus, exponent: exponent, nName: nName, eName: eName)
                }
            }
        }
        return try result.get()
    }

    private static func rsaKey(
        modulus: [UInt8],
        exponent: [UInt8],
        nName: UnsafePointer<CChar>,
        eName: UnsafePointer<CChar>
    ) throws(CryptoError) -> EVPKey {
        guard let builder = OSSL_PARAM_BLD_new() else { throw CryptoError.fromQueue("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(builder) }
        let n = BN_bin2bn(modulus, Int32(modulus.count), nil)
        let e = BN_bin2bn(exponent, Int32(exponent.count), nil)
        defer { BN_free(n); BN_free(e) }
        guard let n, let e,
              OSSL_PARAM_BLD_push_BN(builder, nName, n) == 1,
              OSSL_PARAM_BLD_push_BN(builder, eName, e) == 1,
              let params = OSSL_PARAM_BLD_to_param(builder)
        else { throw CryptoError.fromQueue("building RSA parameters") }
        defer { OSSL_PARAM_free(params) }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else {
            throw CryptoError.fromQueue("EVP_PKEY_CTX_new_from_name(RSA)")
        }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1,
              EVP_PKEY_fromdata(context, &key, hallpass_EVP_PKEY_PUBLIC_KEY, params) == 1,
              let key
        else { throw CryptoError.fromQueue("EVP_PKEY_fromdata(RSA)") }
        return EVPKey(taking: key)
    }

    /// The key as a `-----BEGIN PUBLIC KEY-----` document.
    public var pemRepresentation: String { PEM.writePublicKey(key) }

    /// The public numbers, for publishing the key as a JWK.
    public func components() throws(CryptoError) -> PublicKeyComponents {
        switch type {
        case .p256:
            return .p256(
                x: try BigNumber.parameter(OSSL_PKEY_PARAM_EC_PUB_X, of: key, width: 32),
                y: try BigNumber.parameter(OSSL_PKEY_PARAM_EC_PUB_Y, of: key, width: 32)
            )
        case .ed25519:
            var raw = [UInt8](repeating: 0, count: 32)
            var length = raw.count
            guard EVP_PKEY_get_raw_public_key(key.pointer, &raw, &length) == 1, length == 32 else {
                throw CryptoError.fromQueue("EVP_PKEY_get_raw_public_key")
            }
            return .ed25519(x: raw)
        case .rsa:
            return .rsa(
                modulus: try BigNumber.parameter(OSSL_PKEY_PARAM_RSA_N, of: key),
                exponent: try BigNumber.parameter(OSSL_PKEY_PARAM_RSA_E, of: key)
            )
        }
    }

    /// Whether `signature` is this key's valid signature over `message`.
    ///
    /// Any malformed signature (wrong length, r or s out of range) is simply not valid.
    public func isValidSignature(_ signature: UnsafeRawBufferPointer, for message: UnsafeRawBufferPointer) -> Bool {
        Signature.verify(key: key, type: type, signature: signature, message: message)
    }

    /// Whether `signature` is this key's valid signature over `message`.
    public func isValidSignature(_ signature: some Sequence<UInt8>, for message: some Sequence<UInt8>) -> Bool {
        withContiguousBytes(signature) { signature in
            withContiguousBytes(message) { message in
                Signature.verify(key: key, type: type, signature: signature, message: message)
            }
        }
    }
}

/// A private key that signs. Its ``publicKey`` verifies what it signed.
///
/// The private material never leaves OpenSSL except through ``pemRepresentation``, which the
/// caller must store encrypted; `description` deliberately shows only the key type.
public struct PrivateKey: Sendable, CustomStringConvertible {
    let key: EVPKey
    /// What kind of key this is; it decides the signature algorithm.
    public let type: KeyType

    init(_ key: EVPKey) throws(CryptoError) {
        self.key = key
        self.type = try key.keyType()
    }

    /// Generates a new key from OpenSSL's CSPRNG. RSA keys have `rsaBits` bits (at least 2048).
    public static func generate(_ type: KeyType, rsaBits: Int = 2048) throws(CryptoError) -> PrivateKey {
        let algorithm: String
        switch type {
        case .p256: algorithm = "EC"
        case .ed25519: algorithm = "ED25519"
        case .rsa:
            guard rsaBits >= 2048 else { throw CryptoError.rsaKeyTooSmall(bits: rsaBits) }
            algorithm = "RSA"
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, algorithm, nil) else {
            throw CryptoError.fromQueue("EVP_PKEY_CTX_new_from_name(\(algorithm))")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw CryptoError.fromQueue("EVP_PKEY_keygen_init") }
        switch type {
        case .p256:
            guard EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else {
                throw CryptoError.fromQueue("EVP_PKEY_CTX_set_group_name")
            }
        case .rsa:
            guard hallpass_EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(rsaBits)) == 1 else {
                throw CryptoError.fromQueue("EVP_PKEY_CTX_set_rsa_keygen_bits")
            }
        case .ed25519:
            break
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw CryptoError.fromQueue("EVP_PKEY_generate") }
        return try PrivateKey(EVPKey(taking: key))
    }

    /// Reads a `-----BEGIN PRIVATE KEY-----` (PKCS #8) or traditional EC/RSA private key document.
    public init(pem: String) throws(CryptoError) {
        try self.init(PEM.readPrivateKey(pem))
    }

    /// An Ed25519 key from its 32-byte seed (the JWK `d` member, RFC 8037).
    public init(ed25519Seed seed: [UInt8]) throws(CryptoError) {
        guard seed.count == 32 else { throw CryptoError.invalidKeyMaterial("Ed25519 seed must be 32 bytes") }
        guard let raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, seed.count) else {
            throw CryptoError.fromQueue("EVP_PKEY_new_raw_private_key")
        }
        try self.init(EVPKey(taking: raw))
    }

    /// The key as an unencrypted PKCS #8 `-----BEGIN PRIVATE KEY-----` document.
    public var pemRepresentation: String { PEM.writePrivateKey(key) }

    /// The matching public key.
    public var publicKey: PublicKey {
        // The same EVP_PKEY, used only through the verify API: no copy of the private material.
        PublicKey(unchecked: key, type: type)
    }

    /// Signs `message` in the JOSE form for this key type (see ``PublicKey``).
    public func signature(for message: some Sequence<UInt8>) throws(CryptoError) -> [UInt8] {
        let message = Array(message)
        let result = message.withUnsafeBytes { message in
            Result { () throws(CryptoError) -> [UInt8] in try Signature.sign(key: key, type: type, message: message) }
        }
        return try result.get()
    }

    public var description: String { "PrivateKey(\(type.rawValue))" }
}

extension PublicKey {
    /// Wraps a key whose type is already known (the public half of a ``PrivateKey``).
    init(unchecked key: EVPKey, type: KeyType) {
        self.key = key
        self.type = type
    }
}
