import COpenSSL
import Synchronization

/// Owns one OpenSSL `EVP_PKEY` and frees it with the last reference.
///
/// `@unchecked Sendable` because the key is never mutated after construction, and OpenSSL 3
/// documents concurrent sign/verify operations on one `EVP_PKEY` from several threads as safe
/// (each operation gets its own `EVP_MD_CTX`).
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    /// An `EVP_MD_CTX` initialised once for verifying, and one for signing, with this key (as
    /// pointer bits; 0 until first used). Each operation runs on a copy.
    ///
    /// `EVP_DigestVerifyInit` looks up the algorithm implementations and hands the key to the
    /// provider on every call: measured here at about 7 µs, a sixth of an RS256 verification.
    /// Copying an initialised context skips all of that. Concurrent copies of one template are
    /// safe: `EVP_MD_CTX_copy_ex` takes its source as `const`, and OpenSSL 3 allows concurrent
    /// use of an object through functions that do not modify it (openssl-threads(7)).
    private let verifyTemplate = Atomic<UInt>(0)
    private let signTemplate = Atomic<UInt>(0)

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        for template in [verifyTemplate.load(ordering: .acquiring), signTemplate.load(ordering: .acquiring)] {
            if let context = OpaquePointer(bitPattern: template) { EVP_MD_CTX_free(context) }
        }
        EVP_PKEY_free(pointer)
    }

    enum Operation { case sign, verify }

    /// A new context ready for one `EVP_DigestVerify` (or `EVP_DigestSign`) with this key and
    /// digest `md` (nil for Ed25519, which has its own), or nil if OpenSSL failed. The caller
    /// frees it. `md` must be the same on every call for one operation: it is part of the template.
    func digestContext(for operation: Operation, md: OpaquePointer?) -> OpaquePointer? {
        var template = OpaquePointer(bitPattern: loadTemplate(operation))
        if template == nil {
            guard let made = Self.initialisedContext(operation, key: pointer, md: md) else { return nil }
            let (won, current) = publishTemplate(operation, UInt(bitPattern: made))
            if won {
                template = made
            } else {
                // Another thread made one first; use that and drop ours.
                EVP_MD_CTX_free(made)
                template = OpaquePointer(bitPattern: current)
            }
        }
        guard let context = EVP_MD_CTX_new() else { return nil }
        if let template, EVP_MD_CTX_copy_ex(context, template) == 1 { return context }
        // A context OpenSSL cannot copy: initialise this one directly.
        EVP_MD_CTX_free(context)
        ERR_clear_error()
        return Self.initialisedContext(operation, key: pointer, md: md)
    }

    private func loadTemplate(_ operation: Operation) -> UInt {
        switch operation {
        case .sign: signTemplate.load(ordering: .acquiring)
        case .verify: verifyTemplate.load(ordering: .acquiring)
        }
    }

    /// Stores `made` as the template unless one is there already; returns whether it was stored
    /// and the template now in place.
    private func publishTemplate(_ operation: Operation, _ made: UInt) -> (exchanged: Bool, original: UInt) {
        switch operation {
        case .sign:
            signTemplate.compareExchange(expected: 0, desired: made, successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
        case .verify:
            verifyTemplate.compareExchange(expected: 0, desired: made, successOrdering: .acquiringAndReleasing, failureOrdering: .acquiring)
        }
    }

    private static func initialisedContext(_ operation: Operation, key: OpaquePointer, md: OpaquePointer?) -> OpaquePointer? {
        guard let context = EVP_MD_CTX_new() else { return nil }
        let initialised = switch operation {
        case .verify: EVP_DigestVerifyInit(context, nil, md, nil, key)
        case .sign: EVP_DigestSignInit(context, nil, md, nil, key)
        }
        guard initialised == 1 else {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
            return nil
        }
        return context
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
