public import ArgumentParser
import HallpassHub
public import HallpassJOSE
public import HallpassStore
import Hummingbird
import NIOCore
import NIOPosix
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `hallpass-hub`: the login service. Every flag has an environment variable; the flag wins.
///
/// The entry point is `@main` rather than a top-level `await HubCommand.main()` in
/// `main.swift`: in top-level code that call resolves to `ParsableCommand`'s synchronous
/// `main()`, which refuses an async root command, so the hub never started.
@main
struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hallpass-hub",
        abstract: "Hallpass single-sign-on hub: OAuth 2.0 / OpenID Connect over Redis.")

    @Option(help: "Redis URL, redis://user:pass@host:port/db or rediss:// for TLS (env HALLPASS_REDIS_URL; default redis://127.0.0.1:6379/0).")
    var redis: String?
    @Option(help: "CA certificates (PEM) that a rediss:// server's certificate must chain to (env HALLPASS_REDIS_CA_FILE; default the system's).")
    var redisCaFile: String?
    @Option(help: "Client certificate (PEM) for a Redis that requires one (env HALLPASS_REDIS_CERT_FILE; needs --redis-key-file).")
    var redisCertFile: String?
    @Option(help: "Private key (PEM) of --redis-cert-file (env HALLPASS_REDIS_KEY_FILE).")
    var redisKeyFile: String?
    @Option(help: "Listen address (env HALLPASS_HOST; default 127.0.0.1).")
    var host: String?
    @Option(help: "Listen port (env HALLPASS_PORT; default 8400).")
    var port: Int?
    @Option(help: "Issuer URL (env HALLPASS_ISSUER; default http://HOST:PORT).")
    var issuer: String?
    @Option(help: "File with the 64-hex-digit key that encrypts signing keys at rest (env HALLPASS_KEK_FILE).")
    var kekFile: String?
    @Option(help: "Access- and ID-token lifetime, seconds (env HALLPASS_ACCESS_TOKEN_TTL; default 300).")
    var accessTokenTtl: Int64?
    @Option(help: "Refresh grace window, seconds (env HALLPASS_REFRESH_GRACE; default 10).")
    var refreshGrace: Int64?
    @Option(help: "Session idle timeout, seconds (env HALLPASS_IDLE_TIMEOUT; default 1800).")
    var idleTimeout: Int64?
    @Option(help: "Session absolute timeout, seconds (env HALLPASS_ABSOLUTE_TIMEOUT; default 36000).")
    var absoluteTimeout: Int64?
    @Option(help: "Default single-login policy: newest-wins, deny-new or off (env HALLPASS_SINGLE_LOGIN; default newest-wins).")
    var singleLogin: SingleLoginPolicy?
    @Option(help: "Algorithm of the first signing key: ES256, EdDSA or RS256 (env HALLPASS_ALG; default ES256).")
    var alg: JWSAlgorithm?
    @Option(help: "Failed logins allowed per username per window (env HALLPASS_LOGIN_ATTEMPTS_PER_USER; default 5).")
    var loginAttemptsPerUser: Int?
    @Option(help: "Failed logins allowed per client address per window (env HALLPASS_LOGIN_ATTEMPTS_PER_ADDRESS; default 50).")
    var loginAttemptsPerAddress: Int?
    @Option(help: "Login throttle window, seconds (env HALLPASS_LOGIN_WINDOW; default 300).")
    var loginWindow: Int64?
    @Option(help: "Threads for Argon2id (env HALLPASS_PASSWORD_THREADS; default: the number of cores).")
    var passwordThreads: Int?
    @Option(help: "How often timed-out sessions are ended and their apps notified, ms (env HALLPASS_SESSION_SWEEP_INTERVAL_MS; default 1000).")
    var sessionSweepIntervalMs: Int64?
    @Option(help: "How often the back-channel logout queue is polled, ms (env HALLPASS_BACKCHANNEL_POLL_INTERVAL_MS; default 250).")
    var backchannelPollIntervalMs: Int64?
    @Option(help: "First back-channel logout retry delay, ms; doubles per attempt (env HALLPASS_BACKCHANNEL_INITIAL_BACKOFF_MS; default 1000).")
    var backchannelInitialBackoffMs: Int64?
    @Option(help: "Largest back-channel logout retry delay, ms (env HALLPASS_BACKCHANNEL_MAX_BACKOFF_MS; default 60000).")
    var backchannelMaxBackoffMs: Int64?
    @Option(help: "Give up a back-channel logout this long after the session ended, s (env HALLPASS_BACKCHANNEL_GIVE_UP; default 86400).")
    var backchannelGiveUp: Int64?
    @Option(help: "Timeout of one back-channel logout POST, ms (env HALLPASS_BACKCHANNEL_TIMEOUT_MS; default 5000).")
    var backchannelTimeoutMs: Int64?
    @Option(help: "Device code (and user code) lifetime of the device grant, seconds (env HALLPASS_DEVICE_CODE_TTL; default 600).")
    var deviceCodeTtl: Int64?
    @Option(help: "Open client connections at most; more are answered 503 and closed, and it is lowered to fit the open files limit (env HALLPASS_MAX_CONNECTIONS; default 4096).")
    var maxConnections: Int?
    @Option(help: "Close a keep-alive connection with no request in flight after this long, seconds (env HALLPASS_CONNECTION_IDLE_TIMEOUT; default 75).")
    var connectionIdleTimeout: Int64?
    @Option(help: "Time from a request's first byte to the end of its headers, seconds; slower clients are disconnected (env HALLPASS_HEADER_TIMEOUT; default 10).")
    var headerTimeout: Int64?
    @Option(help: "Largest request line plus headers, bytes; larger get 431 (env HALLPASS_MAX_HEADER_BYTES; default 16384).")
    var maxHeaderBytes: Int?
    @Option(help: "Most header fields in a request; more get 431 (env HALLPASS_MAX_HEADER_COUNT; default 100).")
    var maxHeaderCount: Int?
    @Option(help: "Redis replicas that must acknowledge a revocation, logout or other security write before it is reported done; fewer within --durable-timeout-ms answers 503 (env HALLPASS_DURABLE_REPLICAS; default 1 with Sentinel or Cluster, 0 on one server).")
    var durableReplicas: Int?
    @Option(help: "How long a security write waits for its replicas, ms (env HALLPASS_DURABLE_TIMEOUT_MS; default 1000).")
    var durableTimeoutMs: Int64?
    @Option(help: "Redis commands waiting for a reply at once, at most; more requests are answered 503 at once (env HALLPASS_MAX_PENDING_STORE_CALLS; default 1024).")
    var maxPendingStoreCalls: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error (env HALLPASS_LOG_LEVEL; default info).")
    var logLevel: Logger.Level?
    @Option(help: "Run Swift Concurrency's tasks on the NIO event loops, so a request and its Redis calls stay on one thread: on or off (env HALLPASS_EVENT_LOOP_EXECUTOR; default on).")
    var eventLoopExecutor: Switch?

    enum Switch: String, ExpressibleByArgument {
        case on, off
    }

    func run() async throws {
        // First, before the hub starts any task. Without it, every request hops from the event
        // loop that read it to the cooperative pool and back, and every Redis reply once more;
        // with it, a request's task runs on the loop of its connection and (see RedisClient)
        // uses a Redis connection on that same loop. Nothing in the hub blocks a thread: Argon2id
        // runs on its own thread pool. Measured in docs/BENCHMARKS.md.
        if try pick(eventLoopExecutor, "HALLPASS_EVENT_LOOP_EXECUTOR", .on, { Switch(rawValue: $0) }) == .on {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
        var logger = Logger(label: "hallpass.hub")
        let level = try pick(logLevel, "HALLPASS_LOG_LEVEL", .info) { Logger.Level(rawValue: $0) }
        logger.logLevel = level

        var configuration = HubConfiguration()
        configuration.redisURL = try pick(redis, "HALLPASS_REDIS_URL", configuration.redisURL) { $0 }
        configuration.redisCAFile = redisCaFile ?? environment("HALLPASS_REDIS_CA_FILE")
        configuration.redisCertificateFile = redisCertFile ?? environment("HALLPASS_REDIS_CERT_FILE")
        configuration.redisKeyFile = redisKeyFile ?? environment("HALLPASS_REDIS_KEY_FILE")
        configuration.redisSentinelPassword = environment("HALLPASS_REDIS_SENTINEL_PASSWORD")
        configuration.host = try pick(host, "HALLPASS_HOST", configuration.host) { $0 }
        configuration.port = try pick(port, "HALLPASS_PORT", configuration.port) { Int($0) }
        configuration.issuer = try pick(issuer, "HALLPASS_ISSUER", "http://\(configuration.host):\(configuration.port)") { $0 }
        configuration.accessTokenLifetime = try pick(accessTokenTtl, "HALLPASS_ACCESS_TOKEN_TTL", 300) { Int64($0) }
        configuration.refreshGrace = try pick(refreshGrace, "HALLPASS_REFRESH_GRACE", 10) { Int64($0) }
        configuration.sessionTimeouts = SessionTimeouts(
            idle: try pick(idleTimeout, "HALLPASS_IDLE_TIMEOUT", 1800) { Int64($0) },
            absolute: try pick(absoluteTimeout, "HALLPASS_ABSOLUTE_TIMEOUT", 36000) { Int64($0) })
        configuration.singleLoginPolicy = try pick(singleLogin, "HALLPASS_SINGLE_LOGIN", .newestWins) { SingleLoginPolicy(rawValue: $0) }
        configuration.signingAlgorithm = try pick(alg, "HALLPASS_ALG", .es256) { JWSAlgorithm(rawValue: $0) }
        configuration.loginThrottle = LoginThrottle(
            perUsername: try pick(loginAttemptsPerUser, "HALLPASS_LOGIN_ATTEMPTS_PER_USER", 5) { Int($0) },
            perAddress: try pick(loginAttemptsPerAddress, "HALLPASS_LOGIN_ATTEMPTS_PER_ADDRESS", 50) { Int($0) },
            window: try pick(loginWindow, "HALLPASS_LOGIN_WINDOW", 300) { Int64($0) })
        var logout = BackchannelLogoutSettings()
        logout.sweepInterval = try pick(sessionSweepIntervalMs, "HALLPASS_SESSION_SWEEP_INTERVAL_MS", logout.sweepInterval) { Int64($0) }
        logout.pollInterval = try pick(backchannelPollIntervalMs, "HALLPASS_BACKCHANNEL_POLL_INTERVAL_MS", logout.pollInterval) { Int64($0) }
        logout.initialBackoff = try pick(backchannelInitialBackoffMs, "HALLPASS_BACKCHANNEL_INITIAL_BACKOFF_MS", logout.initialBackoff) { Int64($0) }
        logout.maximumBackoff = try pick(backchannelMaxBackoffMs, "HALLPASS_BACKCHANNEL_MAX_BACKOFF_MS", logout.maximumBackoff) { Int64($0) }
        logout.giveUpAfter = try pick(backchannelGiveUp, "HALLPASS_BACKCHANNEL_GIVE_UP", logout.giveUpAfter / 1000) { Int64($0) }.clamped(to: 0...1_000_000_000) * 1000
        logout.requestTimeout = try pick(backchannelTimeoutMs, "HALLPASS_BACKCHANNEL_TIMEOUT_MS", logout.requestTimeout) { Int64($0) }
        configuration.backchannelLogout = logout
        if durableReplicas != nil || getenv("HALLPASS_DURABLE_REPLICAS") != nil {
            configuration.durableReplicas = try pick(durableReplicas, "HALLPASS_DURABLE_REPLICAS", 0) { Int($0) }
        }
        configuration.durableWriteTimeout = try pick(durableTimeoutMs, "HALLPASS_DURABLE_TIMEOUT_MS", configuration.durableWriteTimeout) { Int64($0) }
        configuration.maximumPendingStoreCalls = try pick(
            maxPendingStoreCalls, "HALLPASS_MAX_PENDING_STORE_CALLS", configuration.maximumPendingStoreCalls) { Int($0) }
        configuration.deviceAuthorization.lifetime = try pick(deviceCodeTtl, "HALLPASS_DEVICE_CODE_TTL", 600) { Int64($0) }
        var limits = ConnectionLimits()
        limits.maximumConnections = try pick(maxConnections, "HALLPASS_MAX_CONNECTIONS", limits.maximumConnections) { Int($0) }
        limits.idleTimeout = try pick(connectionIdleTimeout, "HALLPASS_CONNECTION_IDLE_TIMEOUT", limits.idleTimeout) { Int64($0) }
        limits.headerTimeout = try pick(headerTimeout, "HALLPASS_HEADER_TIMEOUT", limits.headerTimeout) { Int64($0) }
        limits.maximumHeaderBytes = try pick(maxHeaderBytes, "HALLPASS_MAX_HEADER_BYTES", limits.maximumHeaderBytes) { Int($0) }
        limits.maximumHeaderCount = try pick(maxHeaderCount, "HALLPASS_MAX_HEADER_COUNT", limits.maximumHeaderCount) { Int($0) }
        configuration.connectionLimits = limits
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        configuration.passwordHashingThreads = try pick(passwordThreads, "HALLPASS_PASSWORD_THREADS", max(1, cores)) { Int($0) }
        if let path = kekFile ?? getenv("HALLPASS_KEK_FILE").map({ String(cString: $0) }), !path.isEmpty {
            do {
                let loaded = try KeyEncryptionKeyFile.load(path: path)
                if loaded.exposed {
                    logger.warning("the key-encryption key file is readable by group or others; chmod 600 it", metadata: ["path": "\(path)"])
                }
                configuration.keyEncryptionKey = loaded.key
            } catch {
                throw ValidationError(error.description)
            }
        }
        do {
            try configuration.validate()
        } catch {
            throw ValidationError(error.description)
        }
        // Before the server starts: every client connection is a file descriptor, and the
        // usual soft limit of 1024 would cap --max-connections far below its default.
        let openFiles = FileDescriptorLimit.raiseToHardLimit()
        logger.debug("open files limit", metadata: ["limit": "\(openFiles)"])
        let (host, issuerURL, log) = (configuration.host, configuration.issuer, logger)
        let app = try Hub.application(configuration: configuration, logger: logger) { port in
            log.notice("hallpass-hub listening", metadata: ["address": "\(host):\(port)", "issuer": "\(issuerURL)"])
        }
        try await app.runService()
    }

    /// The environment variable's value; `nil` when unset or empty.
    private func environment(_ variable: String) -> String? {
        guard let raw = getenv(variable), raw.pointee != 0 else { return nil }
        return String(cString: raw)
    }

    /// The flag if given, else the environment variable if set, else the default; a value
    /// that does not parse is a usage error naming the flag.
    private func pick<Value>(_ flag: Value?, _ variable: String, _ fallback: Value, _ parse: (String) -> Value?) throws -> Value {
        if let flag { return flag }
        guard let raw = getenv(variable) else { return fallback }
        let text = String(cString: raw)
        guard let value = parse(text) else { throw ValidationError("\(variable)=\(text) is not a valid value") }
        return value
    }
}

extension Comparable {
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}

extension SingleLoginPolicy: ExpressibleByArgument {}
extension JWSAlgorithm: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
