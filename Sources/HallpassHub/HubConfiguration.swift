import HallpassRedis
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
    /// Where Redis is: `redis://`, `rediss://` (TLS), and the Sentinel and Cluster forms (which
    /// are refused at start until they are supported).
    public var redisURL: String = "redis://127.0.0.1:6379/0"
    /// PEM CA certificates a `rediss://` server's certificate must chain to; `nil`: the system's.
    public var redisCAFile: String?
    /// Client certificate (PEM) for a Redis that requires one; needs ``redisKeyFile``.
    public var redisCertificateFile: String?
    /// The client certificate's private key (PEM); needs ``redisCertificateFile``.
    public var redisKeyFile: String?
    /// The Sentinels' own password (`HALLPASS_REDIS_SENTINEL_PASSWORD`), if they have one.
    public var redisSentinelPassword: String?
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
    /// How long a client registration is cached (ms), at most
    /// `HallpassStore.maximumClientCacheLifetime` (longer is cut to it); a removed client gets
    /// no token after at most this long, and a token it gets meanwhile is void.
    public var clientCacheLifetime: Int64 = 1000
    /// OIDC Back-Channel Logout delivery: polling, retry and expiry-sweep settings.
    public var backchannelLogout = BackchannelLogoutSettings()
    /// The device authorization grant (RFC 8628): code lifetime, polling, user-code throttle.
    public var deviceAuthorization = DeviceAuthorizationSettings()

    /// Connection count, idle and header timeouts, and request head limits.
    public var connectionLimits = ConnectionLimits()

    /// How many Redis replicas must acknowledge a security write (a revocation, a logout, a
    /// disable, a password or policy change, a key rotation) before the hub reports it done;
    /// `nil`: the topology's default (``HallpassStore/StoreDurability/default(for:)``: 1 with
    /// Sentinel or Cluster, 0 on one server). When fewer acknowledge within
    /// ``durableWriteTimeout`` the hub answers 503.
    public var durableReplicas: Int?
    /// How long a security write waits for its replicas (ms), 1…(command timeout − 1 s).
    public var durableWriteTimeout: Int64 = 1000
    /// Redis commands this hub lets wait for a reply at once; beyond it requests are answered
    /// 503 at once, so a paused or slow Redis costs bounded memory and prompt errors.
    public var maximumPendingStoreCalls: Int = 1024

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
        guard (durableReplicas ?? 0) >= 0, (durableReplicas ?? 0) <= 16 else { throw .invalid("--durable-replicas must be 0-16") }
        guard (1...4000).contains(durableWriteTimeout) else { throw .invalid("--durable-timeout-ms must be 1-4000") }
        guard (16...1_000_000).contains(maximumPendingStoreCalls) else { throw .invalid("--max-pending-store-calls must be 16-1000000") }
        try backchannelLogout.validate()
        try deviceAuthorization.validate()
        try connectionLimits.validate()
        _ = try redisConfiguration()
    }

    /// The Redis configuration: the URL with the TLS files, read and checked (at start-up only).
    func redisConfiguration() throws(Problem) -> RedisConfiguration {
        do throws(RedisError) {
            var configuration = try RedisConfiguration(
                url: redisURL, caFile: redisCAFile, certificateFile: redisCertificateFile, keyFile: redisKeyFile,
                sentinelPassword: redisSentinelPassword)
            configuration.maximumPendingCommands = maximumPendingStoreCalls
            return configuration
        } catch .invalidTLSSetting(let setting, let detail) {
            throw .invalid("\(setting.optionName): \(detail)")
        } catch {
            throw .invalid("--redis: \(error)")
        }
    }

    /// What security writes wait for on `topology`.
    func durability(for topology: RedisTopology) -> StoreDurability {
        StoreDurability(
            replicas: durableReplicas ?? StoreDurability.default(for: topology).replicas, timeout: .milliseconds(durableWriteTimeout))
    }
}

/// How a hub delivers OIDC Back-Channel Logout tokens and sweeps timed-out sessions.
///
/// Times are milliseconds. Retries back off exponentially from ``initialBackoff`` doubling up
/// to ``maximumBackoff``, each delay drawn at random between half and all of it (jitter), and
/// give up ``giveUpAfter`` after the session ended.
public struct BackchannelLogoutSettings: Sendable, Hashable {
    /// Whether this hub sends logout tokens and sweeps expired sessions at all.
    public var enabled = true
    /// How often the hub looks for due deliveries (ms). Default 250.
    public var pollInterval: Int64 = 250
    /// How often the hub ends sessions whose idle or absolute timeout passed (ms). Default 1000.
    public var sweepInterval: Int64 = 1000
    /// The first retry delay (ms). Default 1 s.
    public var initialBackoff: Int64 = 1000
    /// The largest retry delay (ms). Default 60 s.
    public var maximumBackoff: Int64 = 60_000
    /// How long after the session ended retries give up (ms). Default 24 h.
    public var giveUpAfter: Int64 = 24 * 3600 * 1000
    /// Timeout of one POST to a client (ms). Default 5 s.
    public var requestTimeout: Int64 = 5000
    /// Lifetime of a logout token (s). Default 120.
    public var tokenLifetime: Int64 = 120

    /// The defaults.
    public init() {}

    func validate() throws(HubConfiguration.Problem) {
        guard (10...60_000).contains(pollInterval) else { throw .invalid("--backchannel-poll-interval-ms must be 10-60000 ms") }
        guard (10...600_000).contains(sweepInterval) else { throw .invalid("--session-sweep-interval-ms must be 10-600000 ms") }
        guard initialBackoff >= 10, maximumBackoff >= initialBackoff, maximumBackoff <= 3_600_000 else {
            throw .invalid("--backchannel-initial-backoff-ms must be at least 10 and at most --backchannel-max-backoff-ms (at most 1 h)")
        }
        guard giveUpAfter >= 1000, giveUpAfter < HallpassStore.logoutStatusRetention else {
            throw .invalid("--backchannel-give-up must be at least 1 s and under 48 h")
        }
        guard (100...60_000).contains(requestTimeout) else { throw .invalid("--backchannel-timeout-ms must be 100-60000 ms") }
        guard (10...600).contains(tokenLifetime) else { throw .invalid("logout token lifetime must be 10-600 s") }
    }

    /// The delay before attempt `attempt + 1` after attempt `attempt` failed, before jitter.
    public func backoff(afterAttempt attempt: Int) -> Int64 {
        var delay = initialBackoff
        var step = 1
        while step < attempt && delay < maximumBackoff {
            delay *= 2
            step += 1
        }
        return min(delay, maximumBackoff)
    }
}
