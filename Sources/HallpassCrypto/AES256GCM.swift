import COpenSSL

/// AES-256 in Galois/Counter Mode (NIST SP 800-38D) through OpenSSL's EVP cipher interface:
/// authenticated encryption of secrets at rest, such as keys wrapped with a key-encryption key.
///
/// The sealed form is one byte string, `nonce (12) ‖ ciphertext ‖ tag (16)`, so it is 28 bytes
/// longer than the plaintext and needs nothing stored beside it. The nonce is random, which keeps
/// callers from ever managing one; NIST SP 800-38D §8.3 then limits one key to 2³² seals.
public enum AES256GCM {
    /// 96 bits: the nonce length GCM is designed for (any other length is hashed first).
    static let nonceByteCount = 12
    /// The full 128-bit tag; truncated tags weaken the authentication and buy nothing here.
    static let tagByteCount = 16
    /// How much longer sealed data is than its plaintext.
    static let overhead = nonceByteCount + tagByteCount

    /// Encrypts and authenticates `plaintext`, and authenticates (without encrypting) `aad`.
    ///
    /// Every call draws a fresh nonce from OpenSSL's CSPRNG, so sealing the same plaintext twice
    /// gives different results.
    ///
    /// - Parameters:
    ///   - plaintext: The secret to encrypt; may be empty.
    ///   - key: The AES-256 key.
    ///   - aad: Associated data bound to the result, such as a record's identifier, so that a
    ///     sealed value cannot be moved to another record; ``open(_:using:authenticating:)``
    ///     must be given the same bytes.
    /// - Returns: `nonce (12 bytes) ‖ ciphertext (plaintext.count bytes) ‖ tag (16 bytes)`.
    /// - Throws: ``CryptoError/openSSL(operation:reason:)`` if OpenSSL fails (it does not, short
    ///   of running out of memory or an unseeded CSPRNG).
    public static func seal(
        _ plaintext: [UInt8],
        using key: SymmetricKey,
        authenticating aad: [UInt8] = []
    ) throws(CryptoError) -> [UInt8] {
        try seal(plaintext, using: key, nonce: SecureRandom.bytes(count: nonceByteCount), authenticating: aad)
    }

    /// ``seal(_:using:authenticating:)`` with a caller-chosen nonce, so that published test
    /// vectors can be checked. Internal: reusing a nonce under one key reveals the XOR of the two
    /// plaintexts and lets anyone forge tags, so production code never picks one.
    static func seal(
        _ plaintext: [UInt8],
        using key: SymmetricKey,
        nonce: [UInt8],
        authenticating aad: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        precondition(nonce.count == nonceByteCount, "a GCM nonce is 12 bytes")
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.fromQueue("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }

        let initialized = key.bytes.withUnsafeBufferPointer { keyBytes in
            nonce.withUnsafeBufferPointer { nonceBytes in
                EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, keyBytes.baseAddress, nonceBytes.baseAddress)
            }
        }
        guard initialized == 1 else { throw CryptoError.fromQueue("EVP_EncryptInit_ex") }
        guard aad.withUnsafeBufferPointer({ update(context, $0, into: nil, with: EVP_EncryptUpdate) }) else {
            throw CryptoError.fromQueue("EVP_EncryptUpdate(aad)")
        }

        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        let encrypted = plaintext.withUnsafeBufferPointer { input in
            ciphertext.withUnsafeMutableBufferPointer { output in
                update(context, input, into: output.baseAddress, with: EVP_EncryptUpdate)
            }
        }
        guard encrypted else { throw CryptoError.fromQueue("EVP_EncryptUpdate") }
        guard finish(context, with: EVP_EncryptFinal_ex) else { throw CryptoError.fromQueue("EVP_EncryptFinal_ex") }

        var tag = [UInt8](repeating: 0, count: tagByteCount)
        let tagged = tag.withUnsafeMutableBytes { tagBytes in
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tagByteCount), tagBytes.baseAddress)
        }
        guard tagged == 1 else { throw CryptoError.fromQueue("EVP_CTRL_GCM_GET_TAG") }
        return nonce + ciphertext + tag
    }

    /// Checks and decrypts what ``seal(_:using:authenticating:)`` produced.
    ///
    /// The tag is checked over the whole input before any plaintext is returned, so a caller
    /// either gets exactly what was sealed or an error, never a prefix or unauthenticated bytes.
    ///
    /// - Parameters:
    ///   - sealed: `nonce ‖ ciphertext ‖ tag`, as returned by `seal`.
    ///   - key: The key it was sealed with.
    ///   - aad: The same associated data it was sealed with.
    /// - Returns: The original plaintext.
    /// - Throws: ``CryptoError/sealedDataTooShort(_:)`` for input under 28 bytes;
    ///   ``CryptoError/decryptionFailed`` when the tag does not match (wrong key, wrong `aad`, or
    ///   any altered, missing or extra byte); ``CryptoError/openSSL(operation:reason:)`` if
    ///   OpenSSL itself fails.
    public static func open(
        _ sealed: [UInt8],
        using key: SymmetricKey,
        authenticating aad: [UInt8] = []
    ) throws(CryptoError) -> [UInt8] {
        // The length is public (it is the plaintext's length plus 28), so saying that it is
        // wrong tells an attacker nothing they did not know.
        guard sealed.count >= overhead else { throw .sealedDataTooShort(sealed.count) }
        let nonce = sealed[..<nonceByteCount]
        let ciphertext = sealed[nonceByteCount..<(sealed.count - tagByteCount)]
        // EVP_CIPHER_CTX_ctrl takes a non-const pointer even to set the tag: give it a copy.
        var tag = Array(sealed.suffix(tagByteCount))

        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.fromQueue("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }

        let initialized = key.bytes.withUnsafeBufferPointer { keyBytes in
            nonce.withUnsafeBufferPointer { nonceBytes in
                EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, keyBytes.baseAddress, nonceBytes.baseAddress)
            }
        }
        guard initialized == 1 else { throw CryptoError.fromQueue("EVP_DecryptInit_ex") }
        let expected = tag.withUnsafeMutableBytes { tagBytes in
            EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagByteCount), tagBytes.baseAddress)
        }
        guard expected == 1 else { throw CryptoError.fromQueue("EVP_CTRL_GCM_SET_TAG") }
        guard aad.withUnsafeBufferPointer({ update(context, $0, into: nil, with: EVP_DecryptUpdate) }) else {
            throw CryptoError.fromQueue("EVP_DecryptUpdate(aad)")
        }

        var plaintext = [UInt8](repeating: 0, count: ciphertext.count)
        let decrypted = ciphertext.withUnsafeBufferPointer { input in
            plaintext.withUnsafeMutableBufferPointer { output in
                update(context, input, into: output.baseAddress, with: EVP_DecryptUpdate)
            }
        }
        guard decrypted else {
            wipe(&plaintext)
            throw CryptoError.fromQueue("EVP_DecryptUpdate")
        }
        // The tag is compared here (in constant time, by OpenSSL). Until this succeeds the
        // buffer holds unauthenticated bytes, which must not reach the caller or linger.
        guard finish(context, with: EVP_DecryptFinal_ex) else {
            wipe(&plaintext)
            // A mismatch normally leaves nothing on OpenSSL's thread-local error queue, but if a
            // provider did push a reason it must not surface later in some unrelated error.
            ERR_clear_error()
            throw .decryptionFailed
        }
        return plaintext
    }

    /// `EVP_EncryptUpdate` and `EVP_DecryptUpdate`, which share this shape.
    private typealias Update = (
        OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int32>?, UnsafePointer<UInt8>?, Int32
    ) -> Int32

    /// `EVP_EncryptFinal_ex` and `EVP_DecryptFinal_ex`.
    private typealias Final = (OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<Int32>?) -> Int32

    /// OpenSSL lengths are `int`; larger inputs go through in pieces, which GCM (a stream mode)
    /// handles exactly like one call.
    private static let maximumPiece = 1 << 30

    /// Feeds `input` through `function`: as associated data when `output` is nil, otherwise
    /// writing the same number of bytes to `output`.
    private static func update(
        _ context: OpaquePointer,
        _ input: UnsafeBufferPointer<UInt8>,
        into output: UnsafeMutablePointer<UInt8>?,
        with function: Update
    ) -> Bool {
        // An empty buffer may have no address; there is nothing to feed, and GCM with empty
        // input is exactly GCM with no update call.
        guard let base = input.baseAddress else { return true }
        var offset = 0
        while offset < input.count {
            let length = min(input.count - offset, maximumPiece)
            var written: Int32 = 0
            guard function(context, output.map { $0 + offset }, &written, base + offset, Int32(length)) == 1 else {
                return false
            }
            // GCM never buffers: every byte in gives a byte out. Anything else would leave part
            // of the output unwritten.
            if output != nil, Int(written) != length { return false }
            offset += length
        }
        return true
    }

    /// Runs the final step, which for GCM writes no bytes: it computes the tag when sealing and
    /// checks it when opening.
    private static func finish(_ context: OpaquePointer, with function: Final) -> Bool {
        // GCM writes nothing here, but the API wants room for a block: give it a real one
        // rather than a pointer past the end of an output that may be empty.
        var scratch = [UInt8](repeating: 0, count: 16)
        var written: Int32 = 0
        let status = scratch.withUnsafeMutableBufferPointer { function(context, $0.baseAddress, &written) }
        return status == 1 && written == 0
    }

    /// Overwrites bytes that must not outlive a failure, with a call the optimizer keeps.
    private static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            OPENSSL_cleanse(base, buffer.count)
        }
    }
}
