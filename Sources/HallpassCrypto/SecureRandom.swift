import COpenSSL

/// Random bytes from OpenSSL's CSPRNG (`RAND_bytes`), the only randomness Hallpass uses for secrets.
public enum SecureRandom {
    /// Returns `count` bytes from OpenSSL's CSPRNG.
    ///
    /// - Throws: ``CryptoError/openSSL(operation:reason:)`` if the generator is not seeded,
    ///   which on a working system does not happen; callers must not fall back to a weaker source.
    public static func bytes(count: Int) throws(CryptoError) -> [UInt8] {
        // RAND_bytes takes an int; secrets are tens of bytes, so anything else is a caller's bug.
        precondition(count >= 0 && count <= Int(Int32.max), "byte count out of range")
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        let status = output.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        guard status == 1 else { throw CryptoError.fromQueue("RAND_bytes") }
        return output
    }
}
