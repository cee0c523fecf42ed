import COpenSSL

/// Random bytes from OpenSSL's CSPRNG (`RAND_bytes`), the only randomness Hallpass uses for secrets.
public enum SecureRandom {
    /// Returns `count` bytes from OpenSSL's CSPRNG.
    ///
    /// - Throws: ``CryptoError/openSSL(operation:reason:)`` if the generator is not seeded,
    ///   which on a working system does not happen; callers must not fall back to a weaker source.
    public static func bytes(count: Int) throws(CryptoError) -> [UInt8] {
        precondition(count >= 0, "negative byte count")
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        let status = output.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        guard status == 1 else { throw CryptoError.fromQueue("RAND_bytes") }
        return output
    }
}
