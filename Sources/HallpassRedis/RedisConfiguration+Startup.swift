extension RedisConfiguration {
    /// The configuration an executable runs with, from its `--redis` URL, its TLS options
    /// (`--redis-ca-file`, `--redis-cert-file`, `--redis-key-file`) and the Sentinel password
    /// (`HALLPASS_REDIS_SENTINEL_PASSWORD`), each already resolved from flag or environment.
    ///
    /// Everything wrong with them is found here, at start-up, so the executable can refuse to
    /// start with a usage error naming the option: the URL, TLS files given for a plaintext
    /// URL, a certificate without its key, a file that cannot be read. Reads the TLS files (blocking): call it off any event loop. Empty values count as
    /// not given.
    ///
    /// - Throws: ``RedisError/invalidURL(_:)`` or ``RedisError/invalidTLSSetting(_:_:)``.
    public init(
        url: String,
        caFile: String?,
        certificateFile: String?,
        keyFile: String?,
        sentinelPassword: String? = nil
    ) throws(RedisError) {
        try self.init(url: url)
        let files: [(RedisTLSConfiguration.Setting, String?)] = [
            (.caFile, caFile.nonEmpty), (.certificateFile, certificateFile.nonEmpty), (.keyFile, keyFile.nonEmpty),
        ]
        if var tls = self.tls {
            tls.caFile = caFile.nonEmpty
            tls.certificateFile = certificateFile.nonEmpty
            tls.keyFile = keyFile.nonEmpty
            try tls.validate()
            self.tls = tls
        } else if let (setting, _) = files.first(where: { $0.1 != nil }) {
            // Silently ignoring it would leave someone believing their Redis traffic is encrypted.
            throw .invalidTLSSetting(setting, "applies to TLS only, but the Redis URL is not rediss:// (\(self.redactedURL))")
        }
        self.sentinelPassword = sentinelPassword.nonEmpty
    }
}

extension Optional where Wrapped == String {
    fileprivate var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}
