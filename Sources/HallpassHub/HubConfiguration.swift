public import HallpassCrypto
public import HallpassJOSE
public import HallpassPasswords
public import HallpassStore

/// Everything a hub needs to know at start-up. The `hallpass-hub` executable fills it from
/// flags and environment variables; tests build it directly.
public struct HubConfiguration: Sendable {
    /// Address to listen on.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one (see ``HubApplication/run(onServerRunning:)``).
    public var port: Int = 8400
    /// The `iss` of every token and the base of every endpoint URL in discovery.
    public var issuer: String = "http://127.0.0.1:8400"
    /// Where Redis is.
    public var redisURL: String = "redis://127.0.0.1:6379/0"
    /// Access-token (and ID-token) lifetime in seconds, 30…3600.
    public var accessTokenLifetime: Int64 = 300
    /// How long a rotated refresh token may be presented again and get the same successor (s).
    public var refreshGrace: Int64 = 10
    /// Session idle and absolute timeouts.
    public var sessionTimeouts = SessionTimeouts()
    /// The single-login policy when neither the user nor the global setting in Redis says.
    public var singleLoginPolicy: SingleLoginPolicy = .newestWins
    /// The algorithm of the signing key generated on first start.
    public var signingAlgorithm: JWSAlgorithm = .es256
    /// Encrypts signing keys at rest; `nil` stores them in the clear (the hub warns).
    public var keyEncryptionKey: SymmetricKey?
    /// Login attempt limits.
    public var loginThrottle = LoginThrottle()
    /// Largest request body accepted (bytes); larger ones get 413.
    public var maximumBodySize: Int = 64 * 1024
    /// Argon2id parameters for new password hashes.
    public var passwordParameters: Argon2Parameters = .owasp
    /// Threads that run Argon2id, off the event loops and the cooperative pool.
    public var passwordHashingThreads: Int = 2
    /// How often the hub re-reads signing keys from Redis (s): how soon a key that
    /// `hallpass keys rotate` announced shows in this hub's JWKS (one small `HGETALL`). The
    /// ring also wakes at the second a known key activates or retires.
    public var keyReloadInterval: Int64 = 1
    /// How long a client registration is cached (ms); a removed client stops working after
    /// at most this long.
    public var clientCacheLifetime: Int64 = 1000

    /// The defaults of the contract.
    public init() {}

    /// Why a configuration cannot run.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// A setting is out of range; the text names it.
        case invalid(String)

        public var description: String {
            switch self {
            case .invalid(let text): text
            }
        }
    }

    /// Checks ranges and relations between settings.
    public func validate() throws(Problem) {
        guard (0...65535).contains(port) else { throw .invalid("--port must be 0-65535") }
        guard (30...HallpassStore.maximumAccessTokenLifetime).contains(accessTokenLifetime) else {
            throw .invalid("--access-token-ttl must be 30-\(HallpassStore.maximumAccessTokenLifetime) seconds")
        }
        guard (0...300).contains(refreshGrace) else { throw .invalid("--refresh-grace must be 0-300 seconds") }
        guard sessionTimeouts.idle >= 60, sessionTimeouts.absolute >= sessionTimeouts.idle else {
            throw .invalid("--idle-timeout must be at least 60 s and at most --absolute-timeout")
        }
        guard sessionTimeouts.absolute <= 30 * 86400 else { throw .invalid("--absolute-timeout must be at most 30 days") }
        guard issuer.hasPrefix("http://") || issuer.hasPrefix("https://"), !issuer.hasSuffix("/"),
            !issuer.contains("?"), !issuer.contains("#")
        else {
            throw .invalid("--issuer must be an http(s) URL without a trailing slash, query or fragment")
        }
        guard loginThrottle.perUsername > 0, loginThrottle.perAddress > 0, loginThrottle.window > 0 else {
            throw .invalid("login throttle limits must be positive")
        }
        guard (1...64).contains(passwordHashingThreads) else { throw .invalid("password hashing threads must be 1-64") }
    }
}
