import COpenSSL

/// Signing and verification through OpenSSL's one-shot `EVP_DigestSign`/`EVP_DigestVerify`.
enum Signature {
    static func verify(key: EVPKey, type: KeyType, signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> Bool {
        switch type {
        case .p256:
            // JOSE carries r‖s; OpenSSL wants DER, built here without BIGNUMs or allocations.
            guard signature.count == 64 else { return false }
            return ECDSASignature.withDER(fromRaw: signature) { der in
                digestVerify(key: key, md: fetchedSHA256, signature: der, message: message)
            } ?? false
        case .ed25519:
            guard signature.count == 64 else { return false }
            return digestVerify(key: key, md: nil, signature: signature, message: message)
        case .rsa:
            return digestVerify(key: key, md: fetchedSHA256, signature: signature, message: message)
        }
    }

    static func sign(key: EVPKey, type: KeyType, message: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        let md: OpaquePointer? = type == .ed25519 ? nil : fetchedSHA256
        guard let context = key.digestContext(for: .sign, md: md) else { throw CryptoError.fromQueue("EVP_DigestSignInit") }
        defer { EVP_MD_CTX_free(context) }
        let tbs = message.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var length = 0
        guard EVP_DigestSign(context, nil, &length, tbs, message.count) == 1 else {
            throw CryptoError.fromQueue("EVP_DigestSign(size)")
        }
        var output = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &output, &length, tbs, message.count) == 1 else {
            throw CryptoError.fromQueue("EVP_DigestSign")
        }
        output.removeLast(output.count - length)
        if type == .p256 {
            return try ECDSASignature.raw(fromDER: output)
        }
        return output
    }

    private static func digestVerify(
        key: EVPKey,
        md: OpaquePointer?,
        signature: UnsafeRawBufferPointer,
        message: UnsafeRawBufferPointer
    ) -> Bool {
        guard let context = key.digestContext(for: .verify, md: md) else { return false }
        defer { EVP_MD_CTX_free(context) }
        let result = EVP_DigestVerify(
            context,
            signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count,
            message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count
        )
        if result != 1 {
            // A bad signature leaves reasons on this thread's error queue; drop them so they
            // are not misreported by the next, unrelated OpenSSL call.
            ERR_clear_error()
            return false
        }
        return true
    }
}

/// Conversion between JOSE's fixed-length ECDSA signatures (r‖s) and DER `ECDSA-Sig-Value`.
enum ECDSASignature {
    /// Lends `body` the DER `SEQUENCE { INTEGER r, INTEGER s }` for 64 bytes r‖s, built in a
    /// stack buffer (this runs on every ES256 verification), or returns nil if r or s is zero.
    static func withDER<Result>(fromRaw raw: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Result) -> Result? {
        // Each INTEGER is at most 33 bytes (a 0x00 before a high bit), so the whole is at most
        // 2 + 2 * 35 = 72 bytes and every length fits in one byte.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 72) { der -> Result? in
            var length = 2
            for half in [raw[0..<32], raw[32..<64]] {
                guard let first = half.firstIndex(where: { $0 != 0 }) else { return nil }
                let padded = half[first] & 0x80 != 0
                let contentLength = half.endIndex - first + (padded ? 1 : 0)
                der[length] = 0x02
                der[length + 1] = UInt8(contentLength)
                length += 2
                if padded {
                    der[length] = 0
                    length += 1
                }
                for byte in half[first...] {
                    der[length] = byte
                    length += 1
                }
            }
            der[0] = 0x30
            der[1] = UInt8(length - 2)
            return body(UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(der)[0..<length]))
        }
    }

    /// 64 bytes r‖s from DER, as OpenSSL produced it when signing.
    static func raw(fromDER der: [UInt8]) throws(CryptoError) -> [UInt8] {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw CryptoError.fromQueue("d2i_ECDSA_SIG") }
        defer { ECDSA_SIG_free(parsed) }
        var raw = [UInt8](repeating: 0, count: 64)
        let ok = raw.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress,
                  let r = ECDSA_SIG_get0_r(parsed), let s = ECDSA_SIG_get0_s(parsed) else { return false }
            return BN_bn2binpad(r, base, 32) == 32 && BN_bn2binpad(s, base + 32, 32) == 32
        }
        guard ok else { throw CryptoError.invalidKeyMaterial("ECDSA signature component does not fit in 32 bytes") }
        return raw
    }
}
