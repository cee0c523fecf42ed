import HallpassJOSE
import HallpassRedis
import HallpassStore
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Validates Hallpass access tokens inside a member app: locally, with no network round trip
/// per request, against signing keys it holds and a live mirror of the revocation state.
///
/// Build one per app at start-up, run it (it is a swift-service-lifecycle `Service`; or call
/// ``run()`` in a task of your own), and share it between all requests:
///
/// ```swift
/// let validator = try HallpassValidator(configuration: .init(
///     issuer: "http://127.0.0.1:8400", audience: "notes", redisURL: "redis://hallpass-validator:secret@127.0.0.1:6379/0"))
/// // ServiceGroup(services: [validator, app], ...), then per request:
/// let identity = try validator.validate(token)
/// ```
///
/// Per request, ``validate(_:)`` is synchronous: a token seen before costs one hash lookup in
/// a bounded cache of verified tokens plus the revocation check; a new token costs one
/// signature verification and one JSON decode. The revocation check is never cached. In the
/// background, ``run()`` loads the keys (and reloads them on a key event or an unknown `kid`),
/// takes a snapshot of the revocation records and then tails the store's event streams on a
/// dedicated connection. When it cannot prove the mirror current for longer than
/// ``Configuration/stalenessBound``, every token is refused with ``ValidationError/stale``
/// unless ``Configuration/failOpen`` is set.
public final class HallpassValidator: Service, Sendable {
    /// How a validator is set up.
    public struct Configuration: Sendable {
        /// The exact `iss` tokens must carry (the hub's issuer URL).
        public var issuer: String
        /// The value `aud` must contain: this app's client id.
        public var audience: String
        /// `redis://[user[:password]@]host[:port][/db]` of the hub's Redis, or `rediss://` for
        /// TLS; use the read-only validator user (see `StoreSchema.validatorACLRules`).
        public var redisURL: String
        /// PEM CA certificates a `rediss://` server's certificate must chain to (the apps'
        /// `--redis-ca-file`); `nil` trusts the system's roots.
        public var redisCAFile: String?
        /// Client certificate (PEM) for a Redis that requires one (`--redis-cert-file`); needs
        /// ``redisKeyFile``.
        public var redisCertificateFile: String?
        /// The client certificate's private key (PEM, `--redis-key-file`).
        public var redisKeyFile: String?
        /// The Sentinels' own password (`HALLPASS_REDIS_SENTINEL_PASSWORD`, read by the app).
        public var redisSentinelPassword: String?
        /// How long the mirror may go without proof that it is current before tokens are
        /// refused as ``ValidationError/stale`` (default 2 s).
        public var stalenessBound: Duration = .seconds(2)
        /// Whether to accept tokens while the mirror is stale (revocations made meanwhile are
        /// then not seen). Default `false`: fail closed.
        public var failOpen: Bool = false
        /// How many verified tokens the cache holds (default 10,000).
        public var cacheCapacity: Int = 10_000
        /// Clock skew tolerated on `exp`, `nbf` and `iat` (s, at most 60; default 10).
        public var leeway: Double = 10
        /// Tokens longer than this many bytes are refused before parsing (default 8 KiB).
        public var maximumTokenSize: Int = 8192
        /// The least time between two key reloads an unknown `kid` asks for (default 1 s).
        public var keyReloadInterval: Duration = .seconds(1)
        /// How often keys are re-read even without a key event (default 60 s).
        public var keyRefreshInterval: Duration = .seconds(60)
        /// How long a Redis connect may take (default 2 s).
        public var connectTimeout: Duration = .seconds(2)

        /// A configuration with the defaults above.
        public init(issuer: String, audience: String, redisURL: String) {
            self.issuer = issuer
            self.audience = audience
            self.redisURL = redisURL
        }
    }

    /// Why a validator could not be built.
    public enum SetupError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The Redis URL does not parse; the text never
        /// repeats credentials.
        case invalidRedisURL(String)
        /// A Redis TLS file is unusable (or given for a plaintext URL); the text names the
        /// option (`--redis-ca-file`, `--redis-cert-file`, `--redis-key-file`) and the problem.
        case invalidRedisTLS(String)

        /// A description for logs.
        public var description: String {
            switch self {
            case .invalidRedisURL(let reason): "invalid Redis URL: \(reason)"
            case .invalidRedisTLS(let reason): reason
            }
        }
    }

    /// Where the mirror stands, for health checks.
    public enum MirrorStatus: String, Sendable, Hashable {
        /// Not loaded yet: no snapshot and keys so far.
        case starting
        /// Proven current within the staleness bound.
        case current
        /// Not proven current for longer than the bound.
        case stale
    }

    /// The configuration.
    public let configuration: Configuration
    private let logger: Logger
    private let redis: RedisClient
    private let store: HallpassStore
    private let rules: JWTValidator.Configuration

    private let keys = Mutex<JWTValidator?>(nil)
    private let cache: VerifiedTokenCache<Entry>
    private let mirror = ReadMostlyLock<RevocationState>(RevocationState())
    /// Monotonic time (ns) of the last proof that the mirror is current; 0 before the first.
    private let lastProof = Atomic<Int64>(0)
    private let keyReloadRequested = Atomic<Bool>(false)
    private let stalenessBoundNanoseconds: Int64
    private let metrics: ValidatorMetrics

    /// What the cache keeps of a verified token: all a later request needs. A class: a cache
    /// hit copies one reference.
    final class Entry: Sendable {
        let identity: Identity
        let notBefore: Double?

        init(identity: Identity, notBefore: Double?) {
            self.identity = identity
            self.notBefore = notBefore
        }
    }

    /// A validator; nothing connects until ``run()``.
    ///
    /// Reads the Redis TLS files, if any (blocking): build validators at start-up.
    ///
    /// - Throws: ``SetupError/invalidRedisURL(_:)`` or ``SetupError/invalidRedisTLS(_:)``.
    public init(configuration: Configuration, logger: Logger = Logger(label: "hallpass.validator")) throws(SetupError) {
        var redisConfiguration: RedisConfiguration
        do throws(RedisError) {
            redisConfiguration = try RedisConfiguration(
                url: configuration.redisURL, caFile: configuration.redisCAFile,
                certificateFile: configuration.redisCertificateFile, keyFile: configuration.redisKeyFile,
                sentinelPassword: configuration.redisSentinelPassword)
        } catch .invalidTLSSetting(let setting, let detail) {
            throw .invalidRedisTLS("\(setting.optionName): \(detail)")
        } catch .invalidURL(let detail) {
            throw .invalidRedisURL(detail)
        } catch {
            throw .invalidRedisURL("\(error)")
        }
        redisConfiguration.connectTimeout = configuration.connectTimeout
        redisConfiguration.reconnectBackoff = .milliseconds(50)...(.seconds(1))
        self.configuration = configuration
        self.logger = logger
        self.redis = RedisClient(configuration: redisConfiguration, logger: logger)
        self.store = HallpassStore(redis: redis)
        var rules = JWTValidator.Configuration(
            issuer: configuration.issuer, audience: configuration.audience, requiredType: "at+jwt", leeway: configuration.leeway,
            maximumTokenSize: configuration.maximumTokenSize)
        rules.checksAudience = true
        self.rules = rules
        self.cache = VerifiedTokenCache(capacity: configuration.cacheCapacity)
        let bound = configuration.stalenessBound.components
        self.stalenessBoundNanoseconds = bound.seconds * 1_000_000_000 + bound.attoseconds / 1_000_000_000
        self.metrics = ValidatorMetrics()
    }

    // MARK: Per request

    /// Validates an access token: signature, `typ`, `iss`, `aud`, `exp`, `nbf`, then `jti`,
    /// `sid`, the client's grant, the user's watermark and the client's watermark against the
    /// revocation mirror. A client's own token (client credentials grant: no `sid`, `sub` =
    /// `client_id`) is accepted with ``Identity/kind`` `.client`, and checked by `jti` and its
    /// client's watermark.
    ///
    /// Synchronous and safe to call from any thread: no network, no actor hop, no lock held
    /// longer than a hash lookup.
    ///
    /// - Parameter token: The token as presented (without `Bearer `).
    /// - Returns: Who the token speaks for.
    /// - Throws: ``ValidationError`` saying why the token is refused.
    public func validate(_ token: String) throws(ValidationError) -> Identity {
        let now = Self.coarseWallClockSeconds()
        let entry: Entry
        if let cached = cache.value(for: token, now: now) {
            if let notBefore = cached.notBefore, now + rules.leeway < notBefore { throw .notYetValid }
            entry = cached
        } else {
            entry = try verify(token, now: now)
        }
        if !configuration.failOpen, !isCurrent() { throw .stale }
        let identity = entry.identity
        let reason = mirror.withReadLock { state in
            state.reason(
                tokenID: identity.tokenID, sessionID: identity.sessionID, userID: identity.subject, clientID: identity.clientID,
                issuedAt: identity.issuedAt, isClient: identity.isClient)
        }
        if let reason { throw .revoked(reason) }
        return identity
    }

    /// Validates a token given as a substring of a header (see ``validate(_:)-(String)``).
    public func validate(_ token: Substring) throws(ValidationError) -> Identity {
        try validate(String(token))
    }

    /// The full check of a token not in the cache; caches it when it passes.
    private func verify(_ token: String, now: Double) throws(ValidationError) -> Entry {
        if token.isEmpty { throw .malformed("empty token") }
        guard let validator = keys.withLock({ $0 }) else { throw .stale }
        let claims: AccessTokenClaims
        do {
            claims = try validator.validateAccessToken(token, now: now)
        } catch {
            throw map(error)
        }
        func string(_ name: AccessTokenClaims.Name) throws(ValidationError) -> String {
            guard let value = claims.value(of: name) else { throw .malformed("claim \(name.claimName) is missing") }
            guard let text = value.stringValue, !text.isEmpty else { throw .malformed("\(name.claimName) has the wrong type") }
            return text
        }
        let subject = try string(.subject)
        let clientID = try string(.clientID)
        // A token without `sid` is a client's own (client credentials grant) when its `sub` is
        // its `client_id` (RFC 9068 section 2.2); a user's token always carries its session.
        let kind: Identity.Kind = claims.value(of: .sessionID) == nil && subject == clientID ? .client : .user
        let sessionID = try kind == .client ? "" : string(.sessionID)
        let tokenID = try string(.tokenID)
        guard let issuedAtValue = claims.value(of: .issuedAt) else { throw .malformed("claim iat is missing") }
        guard let issuedAt = issuedAtValue.numericValue, issuedAt.isFinite, abs(issuedAt) < 1e15 else {
            throw .malformed("iat has the wrong type")
        }
        guard let expiresAt = claims.expiresAt else { throw .malformed("claim exp is missing") }
        var scopes: [String] = []
        if let scope = claims.value(of: .scope) {
            guard let text = scope.stringValue else { throw .malformed("scope has the wrong type") }
            // Split on the bytes: `String.split` walks Characters, a third of this path's own time.
            scopes = text.utf8.split(separator: UInt8(ascii: " ")).map { String(Substring($0)) }
        }
        var username: String?
        if let name = claims.value(of: .username) {
            guard let text = name.stringValue else { throw .malformed("preferred_username has the wrong type") }
            username = text
        }
        // How the user authenticated (RFC 8176, OIDC Core §2). Absent in tokens minted before the
        // hub sent them: nil or empty, never an error. Present with the wrong type, the token is
        // malformed: a resource demanding a second factor must not guess at what `amr` meant.
        var methods: [String] = []
        if let amr = claims.value(of: .authenticationMethods) {
            guard case .array(let elements) = amr else { throw .malformed("amr has the wrong type") }
            methods.reserveCapacity(elements.count)
            for element in elements {
                guard case .string(let method) = element else { throw .malformed("amr has the wrong type") }
                methods.append(method)
            }
        }
        var context: String?
        if let acr = claims.value(of: .authenticationContext) {
            guard let text = acr.stringValue else { throw .malformed("acr has the wrong type") }
            context = text
        }
        var authTime: Int64?
        if let value = claims.value(of: .authTime) {
            guard let seconds = value.numericValue, seconds.isFinite, abs(seconds) < 1e15 else {
                throw .malformed("auth_time has the wrong type")
            }
            authTime = Int64(seconds.rounded(.down))
        }
        let identity = Identity(
            subject: subject, username: username, sessionID: sessionID, clientID: clientID, scopes: scopes, tokenID: tokenID,
            issuedAt: Int64(issuedAt.rounded(.down)), expiresAt: expiresAt, kind: kind, authenticationMethods: methods,
            authenticationContext: context, authTime: authTime)
        let entry = Entry(identity: identity, notBefore: claims.notBefore)
        cache.insert(entry, for: token, expiresAt: expiresAt + rules.leeway, now: now)
        return entry
    }

    private func map(_ error: JWTError) -> ValidationError {
        switch error {
        case .tooLarge: return .tooLarge
        case .malformed: return .malformed(String("\(error)".dropFirst("malformed token: ".count)))
        case .disallowedAlgorithm, .algorithmMismatch: return .disallowedAlgorithm
        case .unsupportedCriticalHeader: return .malformed("critical header extensions")
        case .wrongType: return .wrongType
        case .unknownKey:
            requestKeyReload()
            return .unknownKey
        case .badSignature: return .badSignature
        case .expired: return .expired
        case .notYetValid, .issuedInFuture: return .notYetValid
        case .wrongIssuer: return .wrongIssuer
        case .wrongAudience: return .wrongAudience
        }
    }

    /// Whether the mirror was proven current within the bound.
    @inline(__always)
    private func isCurrent() -> Bool {
        let proof = lastProof.load(ordering: .acquiring)
        return proof != 0 && Self.coarseMonotonicNanoseconds() - proof <= stalenessBoundNanoseconds
    }

    /// Where the mirror stands now.
    public var status: MirrorStatus {
        if lastProof.load(ordering: .acquiring) == 0 || keys.withLock({ $0 == nil }) { return .starting }
        return isCurrent() ? .current : .stale
    }

    /// Waits until the keys and the revocation snapshot are loaded and the mirror is current,
    /// for up to `timeout`. Returns whether it is.
    public func waitUntilCurrent(timeout: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if status == .current { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return status == .current
    }

    /// Asks the background task to re-read the keys; cheap, and many calls make one reload.
    private func requestKeyReload() {
        keyReloadRequested.store(true, ordering: .releasing)
    }

    /// Monotonic time (ns) from the kernel's coarse clock: a few ms of resolution, a third of
    /// the cost of the precise clock, which matters at a few hundred ns per request. Staleness
    /// bounds are seconds.
    @inline(__always)
    static func coarseMonotonicNanoseconds() -> Int64 {
        var spec = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC_COARSE, &spec)
        #else
        clock_gettime(CLOCK_MONOTONIC, &spec)
        #endif
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }

    /// Unix time (s) from the kernel's coarse clock (a few ms of resolution, far inside the
    /// leeway on `exp` and `nbf`).
    @inline(__always)
    static func coarseWallClockSeconds() -> Double {
        var spec = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_REALTIME_COARSE, &spec)
        #else
        clock_gettime(CLOCK_REALTIME, &spec)
        #endif
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
    }

    // MARK: Background

    /// Loads the keys and the revocation snapshot, then keeps both current until cancelled
    /// or the service group shuts down; closes its Redis connections on the way out.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.keyLoop() }
                group.addTask { await self.mirrorLoop() }
                group.addTask { await self.watchdog() }
            }
        }
        await redis.shutdown()
    }

    private func keyLoop() async {
        var lastLoad = ContinuousClock.now - configuration.keyRefreshInterval
        var loaded = false
        while !Task.isCancelled {
            let due = !loaded || ContinuousClock.now - lastLoad >= configuration.keyRefreshInterval
            if due || keyReloadRequested.load(ordering: .acquiring) {
                keyReloadRequested.store(false, ordering: .releasing)
                loaded = await loadKeys()
                lastLoad = .now
                try? await Task.sleep(for: loaded ? configuration.keyReloadInterval : .milliseconds(200))
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    /// Reads the signing keys; returns whether that worked.
    private func loadKeys() async -> Bool {
        let stored: [StoredSigningKey]
        do {
            stored = try await store.publicSigningKeys()
        } catch {
            logger.warning("could not load signing keys", metadata: ["error": "\(error)"])
            return false
        }
        let set = SigningKeySet(stored: stored, kek: nil, now: HallpassStore.wallClockMilliseconds() / 1000)
        for problem in set.problems {
            if case .sealedWithoutKEK = problem { continue }
            logger.error("\(problem)")
        }
        let validator = JWTValidator(configuration: rules, keys: set.verificationKeys)
        let newIDs = Set(set.verificationKeys.keyIDs)
        let oldIDs = keys.withLock { current in
            defer { current = validator }
            return current.map { Set($0.keys.keyIDs) }
        }
        if oldIDs != newIDs {
            if let oldIDs, !oldIDs.isSubset(of: newIDs) { cache.removeAll() }
            logger.info("signing keys loaded", metadata: ["kids": "\(newIDs.sorted())"])
            metrics.keyReloads.increment()
        }
        return true
    }

    private func mirrorLoop() async {
        var positions: [String: String]?
        var backoff: Duration = .milliseconds(50)
        let bound = configuration.stalenessBound.components
        let boundMilliseconds = bound.seconds * 1000 + bound.attoseconds / 1_000_000_000_000_000
        let block = max(10, min(500, boundMilliseconds / 4))
        while !Task.isCancelled {
            do {
                // One connection on a single server; one per master on a Redis Cluster, where a
                // changed layout fails a read and this loop opens the tail anew (resuming).
                let tail = try await EventLogTail.open(redis: redis)
                try await withTaskCancellationHandler {
                    var current: [String: String]
                    if let resumed = positions, try await HallpassStore.canResumeEvents(after: resumed, on: tail.snapshotReader) {
                        current = resumed
                        logger.info("revocation mirror resumed")
                    } else {
                        current = try await loadSnapshot(on: tail.snapshotReader)
                    }
                    positions = current
                    backoff = .milliseconds(50)
                    var lastPrune = ContinuousClock.now
                    while !Task.isCancelled {
                        let events = try await tail.read(after: current, count: 1000, block: block)
                        if !events.isEmpty {
                            let keysChanged = mirror.withWriteLock { state in
                                var changed = false
                                for event in events where state.apply(event) { changed = true }
                                return changed
                            }
                            for event in events { current[event.stream] = event.id }
                            positions = current
                            metrics.eventsApplied.increment(by: events.count)
                            if keysChanged { requestKeyReload() }
                        }
                        markCurrent()
                        if ContinuousClock.now - lastPrune > .seconds(10) {
                            prune()
                            lastPrune = .now
                        }
                    }
                } onCancel: {
                    Task { await tail.close() }
                }
                await tail.close()
            } catch {
                if Task.isCancelled { break }
                logger.debug("revocation mirror lost Redis; reconnecting", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(1))
            }
        }
    }

    /// Replaces the mirror with a fresh snapshot; returns the stream positions to tail from.
    private func loadSnapshot(on connection: any RedisPipelining) async throws(StoreError) -> [String: String] {
        let snapshot = try await HallpassStore.revocationSnapshot(on: connection)
        let state = RevocationState(snapshot, now: HallpassStore.wallClockMilliseconds())
        let count = state.count
        mirror.withWriteLock { $0 = state }
        metrics.snapshots.increment()
        metrics.entries.record(count)
        logger.info("revocation snapshot loaded", metadata: ["records": "\(count)"])
        markCurrent()
        return snapshot.positions
    }

    private func markCurrent() {
        lastProof.store(Self.coarseMonotonicNanoseconds(), ordering: .releasing)
    }

    /// Drops records whose tokens have all expired. The mirror task is the only writer, so the
    /// copy made outside the lock loses nothing.
    private func prune() {
        let current = mirror.withReadLock { $0 }
        let pruned = current.pruned(now: HallpassStore.wallClockMilliseconds())
        let count = pruned.count
        mirror.withWriteLock { $0 = pruned }
        metrics.entries.record(count)
    }

    /// Logs and exports every change between current and stale.
    private func watchdog() async {
        var reported = MirrorStatus.starting
        while !Task.isCancelled {
            let now = status
            if now != reported {
                switch now {
                case .stale:
                    logger.warning(
                        "revocation mirror is stale: Redis unreachable beyond the bound",
                        metadata: ["failOpen": "\(configuration.failOpen)"])
                case .current:
                    logger.notice(reported == .starting ? "revocation mirror is current" : "revocation mirror is current again")
                case .starting:
                    break
                }
                metrics.stale.record(now == .stale ? 1 : 0)
                if now == .stale { metrics.staleTransitions.increment() }
                reported = now
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// The validator's metrics (swift-metrics; the app chooses the backend).
struct ValidatorMetrics: Sendable {
    /// 1 while the mirror is stale, else 0.
    let stale = Gauge(label: "hallpass_validator_mirror_stale")
    /// Times the mirror went stale.
    let staleTransitions = Counter(label: "hallpass_validator_mirror_stale_transitions_total")
    /// Snapshots loaded (start, trimmed streams, Redis lost its data).
    let snapshots = Counter(label: "hallpass_validator_mirror_snapshots_total")
    /// Events applied from the streams.
    let eventsApplied = Counter(label: "hallpass_validator_mirror_events_total")
    /// Revocation records held.
    let entries = Gauge(label: "hallpass_validator_mirror_records")
    /// Key sets loaded that differed from the previous one.
    let keyReloads = Counter(label: "hallpass_validator_key_reloads_total")
}
