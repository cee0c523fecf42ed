import COpenSSL

/// Owns one OpenSSL `EVP_PKEY` and frees it with the last reference.
///
/// `@unchecked Sendable` because the key is never mutated after construction, and OpenSSL 3
/// documents concurrent sign/verify operations on one `EVP_PKEY` from several threads as safe
/// (each operation gets its own `EVP_MD_CTX`).
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// Which of the supported key types this is, or why it is not supported.
    func keyType() throws(CryptoError) -> KeyType {
        switch EVP_PKEY_get_base_id(pointer) {
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(pointer, &name, name.count, &length) == 1 else {
                throw CryptoError.fromQueue("EVP_PKEY_get_group_name")
            }
            let group = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard group == "prime256v1" || group == "P-256" else {
                throw CryptoError.unsupportedKeyType("EC \(group)")
            }
            return .p256
        case EVP_PKEY_ED25519:
            return .ed25519
        case EVP_PKEY_RSA:
            let bits = Int(EVP_PKEY_get_bits(pointer))
            guard bits >= 2048 else { throw CryptoError.rsaKeyTooSmall(bits: bits) }
            return .rsa
        case let other:
            throw CryptoError.unsupportedKeyType("EVP_PKEY id \(other)")
        }
    }
}

/// SHA-256, fetched once: passing the legacy `EVP_sha256()` makes OpenSSL 3 fetch the
/// implementation again on every sign and verify, which is a measurable share of a verify.
nonisolated(unsafe) let fetchedSHA256: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil)

// MARK: - Reading and writing PEM

enum PEM {
    static func readPrivateKey(_ pem: String) throws(CryptoError) -> EVPKey {
        try withMemoryBIO(pem) { bio in PEM_read_bio_PrivateKey(bio, nil, noPassphrase, nil) }
    }

    static func readPublicKey(_ pem: String) throws(CryptoError) -> EVPKey {
        try withMemoryBIO(pem) { bio in PEM_read_bio_PUBKEY(bio, nil, noPassphrase, nil) }
    }

    /// Declines every passphrase request. Without a callback OpenSSL falls back to its default,
    /// which prompts on the controlling terminal (or reads standard input): a service loading an
    /// encrypted key would block or consume its input. Encrypted documents are simply invalid.
    private static let noPassphrase: @convention(c) (
        UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?
    ) -> Int32 = { _, _, _, _ in -1 }

    static func writePrivateKey(_ key: EVPKey) -> String {
        writeToMemoryBIO { bio in PEM_write_bio_PKCS8PrivateKey(bio, key.pointer, nil, nil, 0, nil, nil) }
    }

    static func writePublicKey(_ key: EVPKey) -> String {
        writeToMemoryBIO { bio in PEM_write_bio_PUBKEY(bio, key.pointer) }
    }

    private static func withMemoryBIO(
        _ pem: String,
        _ read: (OpaquePointer) -> OpaquePointer?
    ) throws(CryptoError) -> EVPKey {
        var bytes = Array(pem.utf8)
        let key: OpaquePointer? = bytes.withUnsafeMutableBytes { buffer -> OpaquePointer? in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return read(bio)
        }
        guard let key else {
            ERR_clear_error()
            throw CryptoError.invalidPEM
        }
        return EVPKey(taking: key)
    }

    private static func writeToMemoryBIO(_ write: (OpaquePointer) -> Int32) -> String {
        // A memory BIO only fails to allocate or write when memory is exhausted; there is no
        // meaningful recovery, and an empty PEM would be a silent corruption.
        guard let bio = BIO_new(BIO_s_mem()) else { preconditionFailure("BIO_new failed") }
        defer { BIO_free(bio) }
        precondition(write(bio) == 1, "writing PEM to a memory BIO failed")
        var data: UnsafeMutablePointer<CChar>?
        let length = hallpass_BIO_get_mem_data(bio, &data)
        guard let data, length > 0 else { return "" }
        return UnsafeRawBufferPointer(start: data, count: length).withMemoryRebound(to: UInt8.self) {
            String(decoding: $0, as: UTF8.self)
        }
    }
}

// MARK: - Big numbers

enum BigNumber {
    /// The parameter `name` of `key` as unsigned big-endian bytes, left-padded to `width` if given.
    static func parameter(_ name: String, of key: EVPKey, width: Int? = nil) throws(CryptoError) -> [UInt8] {
        var bn: OpaquePointer?
        guard EVP_PKEY_get_bn_param(key.pointer, name, &bn) == 1, let bn else {
            throw CryptoError.fromQueue("EVP_PKEY_get_bn_param(\(name))")
        }
        defer { BN_free(bn) }
        let length = width ?? Int((BN_num_bits(bn) + 7) / 8)
        var out = [UInt8](repeating: 0, count: length)
        guard BN_bn2binpad(bn, &out, Int32(length)) == Int32(length) else {
            throw CryptoError.invalidKeyMaterial("\(name) does not fit in \(length) bytes")
        }
        return out
    }
}
