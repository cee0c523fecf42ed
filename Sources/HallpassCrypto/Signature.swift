import COpenSSL

/// Signing and verification through OpenSSL's one-shot `EVP_DigestSign`/`EVP_DigestVerify`.
enum Signature {
    static func verify(key: EVPKey, type: KeyType, signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> Bool {
        switch type {
        case .p256:
            // JOSE carries r‖s; OpenSSL wants DER. Build it on the stack-sized array, no BIGNUMs.
            guard signature.count == 64, let der = ECDSASignature.der(fromRaw: signature) else { return false }
            return der.withUnsafeBytes { digestVerify(key: key, md: fetchedSHA256, signature: $0, message: message) }
        case .ed25519:
            guard signature.count == 64 else { return false }
            return digestVerify(key: key, md: nil, signature: signature, message: message)
        case .rsa:
            return digestVerify(key: key, md: fetchedSHA256, signature: signature, message: message)
        }
    }

    static func sign(key: EVPKey, type: KeyType, message: UnsafeRawBufferPointer) throws(CryptoError) -> [UInt8] {
        let md: OpaquePointer? = type == .ed25519 ? nil : fetchedSHA256
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.fromQueue("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, md, nil, key.pointer) == 1 else {
            throw CryptoError.fromQueue("EVP_DigestSignInit")
        }
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
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, md, nil, key.pointer) == 1 else {
            ERR_clear_error()
            return false
        }
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
    /// DER `SEQUENCE { INTEGER r, INTEGER s }` from 64 bytes r‖s, or nil if r or s is zero.
    static func der(fromRaw raw: UnsafeRawBufferPointer) -> [UInt8]? {
        let r = integer(raw[0..<32])
        let s = integer(raw[32..<64])
        guard let r, let s else { return nil }
        // Each INTEGER is at most 33 bytes, so every length fits in one byte.
        var der: [UInt8] = [0x30, UInt8(4 + r.count + s.count), 0x02, UInt8(r.count)]
        der.reserveCapacity(6 + r.count + s.count)
        der.append(contentsOf: r)
        der.append(0x02)
        der.append(UInt8(s.count))
        der.append(contentsOf: s)
        return der
    }

    /// The minimal DER INTEGER content for an unsigned big-endian number, nil for zero.
    private static func integer(_ bytes: Slice<UnsafeRawBufferPointer>) -> [UInt8]? {
        guard let first = bytes.firstIndex(where: { $0 != 0 }) else { return nil }
        var content = Array(bytes[first...])
        if content[0] & 0x80 != 0 { content.insert(0, at: 0) }
        return content
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
