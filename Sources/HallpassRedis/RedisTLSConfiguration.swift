/// How to talk TLS to Redis: whom to trust and, for servers that demand one, which client
/// certificate to present.
///
/// The server's certificate and host name are always verified; there is no switch to turn that
/// off. Files are read when a ``RedisClient`` is made (and by ``validate()``), never on an event
/// loop.
public struct RedisTLSConfiguration: Sendable, Hashable {
    /// PEM file of the CA certificates the server's certificate must chain to; `nil` trusts the
    /// system's roots.
    public var caFile: String?
    /// PEM file of the client certificate (and any intermediates after it), for servers that
    /// require client certificates (`tls-auth-clients yes`). Needs ``keyFile``.
    public var certificateFile: String?
    /// PEM file of the client certificate's private key. Needs ``certificateFile``.
    public var keyFile: String?
    /// The name the server's certificate must carry and the SNI sent; `nil` uses the host the
    /// client connects to (an IP address is then matched against the certificate's IP entries).
    public var serverName: String?

    /// A configuration that trusts the system's roots and presents no client certificate.
    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
    }

    /// One of the settings, so that an error can name the command-line option behind it.
    public enum Setting: Sendable, Hashable {
        /// ``RedisTLSConfiguration/caFile``.
        case caFile
        /// ``RedisTLSConfiguration/certificateFile``.
        case certificateFile
        /// ``RedisTLSConfiguration/keyFile``.
        case keyFile

        /// The option every Hallpass executable takes for it (CONTRACT section 2).
        public var optionName: String {
            switch self {
            case .caFile: "--redis-ca-file"
            case .certificateFile: "--redis-cert-file"
            case .keyFile: "--redis-key-file"
            }
        }

        /// The environment variable every Hallpass executable reads for it.
        public var environmentVariable: String {
            switch self {
            case .caFile: "HALLPASS_REDIS_CA_FILE"
            case .certificateFile: "HALLPASS_REDIS_CERT_FILE"
            case .keyFile: "HALLPASS_REDIS_KEY_FILE"
            }
        }
    }

    /// Reads the files and checks that they make a usable client context: each file readable
    /// and PEM, a certificate only with its key, and the key matching the certificate.
    ///
    /// Blocks on file reads: call it at start-up, off any event loop.
    ///
    /// - Throws: ``RedisError/invalidTLSSetting(_:_:)`` naming the setting at fault.
    public func validate() throws(RedisError) {
        _ = try RedisTLS(configuration: self, host: "localhost")
    }
}
