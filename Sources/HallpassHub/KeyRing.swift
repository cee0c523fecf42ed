import HallpassCrypto
import HallpassJOSE
import HallpassStore
import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The hub's copy of the signing keys, re-read from Redis in the background.
///
/// Every hub process shares the keys in Redis, so any hub verifies what any other signed.
/// On first start (no key stored) one hub generates the key; if several race, one script
/// decides and everyone loads the winner's. When Redis is down at start-up the ring stays
/// empty, token endpoints answer 503, and the loader keeps trying.
///
/// Rotation (`hallpass keys rotate`) needs no restart: the ``GlobalChangeFeed`` reloads the
/// ring on every `key_*` event, and the ring wakes at the exact second a stored key activates
/// or retires, so a new key signs from its activation time and a retiring key leaves JWKS once
/// its tokens have expired. While the feed is down the ring re-reads the keys every
/// ``HubConfiguration/keyReloadInterval`` seconds instead; while it is up, only every
/// ``safetyReloadInterval``. Keys past their retirement are deleted from Redis.
final class KeyRing: Service, Sendable {
    private let store: HallpassStore
    private let configuration: HubConfiguration
    private let logger: Logger
    private let current = Mutex<Snapshot?>(nil)
    /// The next activation or retirement among the stored keys (Unix s), as of the last load.
    private let nextChange = Mutex<Int64?>(nil)
    /// Whether this hub has checked that every key has its public record (validators read
    /// only those); keys stored before public records existed get theirs on the first load.
    private let publicRecordsChecked = Atomic<Bool>(false)
    /// ID-token key generations under way in this hub, by algorithm.
    private let pendingIDTokenKeys = Mutex<[JWSAlgorithm: Task<Void, any Error>]>([:])
    /// Reloads run concurrently (the feed's, the timer's, an ID-token key's); each takes a
    /// number before it reads, and a load replaces the snapshot only if no later-numbered load
    /// already did, so a slow load that read before a change cannot undo a fast one that read after.
    private let loads = Atomic<Int>(0)
    private let installedLoad = Mutex<Int>(0)
    /// Until when (Unix ms) the ``GlobalChangeFeed`` vouches that no key changed unseen.
    private let followedUntil = Atomic<Int64>(0)

    /// How often the ring reloads while the feed vouches for it: a safety net only.
    static let safetyReloadInterval: Duration = .seconds(60)

    /// The keys in force and a validator for the hub's own access tokens, built once per load.
    struct Snapshot: Sendable {
        let keys: SigningKeySet
        /// Validates access tokens this issuer signed for any of its clients.
        let validator: JWTValidator
        /// Earlier verdicts of ``validator`` on exact token bytes.
        let verified: VerifiedTokenCache<VerifiedJWT>

        /// Validates one of the hub's access tokens (any audience).
        func validate(_ token: String) throws(JWTError) -> VerifiedJWT {
            try verified.validate(token, with: validator)
        }
    }

    init(store: HallpassStore, configuration: HubConfiguration, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
    }

    /// The keys in force, or `nil` until they were loaded once.
    var snapshot: Snapshot? { current.withLock { $0 } }

    /// Loads the keys, generating the first one if there is none. Throws if Redis fails.
    func reload() async throws(StoreError) {
        let load = loads.add(1, ordering: .relaxed).newValue
        var stored = try await store.signingKeys()
        if stored.isEmpty {
            let now = store.clock() / 1000
            do {
                let key = try StoredSigningKey.generate(
                    algorithm: configuration.signingAlgorithm, kek: configuration.keyEncryptionKey, createdAt: now, activatesAt: now)
                if try await store.addFirstSigningKey(key, actor: "hub") {
                    logger.notice("generated the first signing key", metadata: ["kid": "\(key.keyID)", "alg": "\(key.algorithm)"])
                }
            } catch let error as StoreError {
                throw error
            } catch {
                logger.error("could not generate a signing key", metadata: ["error": "\(error)"])
            }
            stored = try await store.signingKeys()
        }
        if !publicRecordsChecked.load(ordering: .relaxed) {
            if try await store.publishPublicSigningKeys() {
                logger.notice("wrote the public records of the signing keys for validators")
            }
            publicRecordsChecked.store(true, ordering: .relaxed)
        }
        let now = store.clock() / 1000
        if stored.contains(where: { !$0.isPublished(at: now) }) {
            let deleted = try await store.deleteRetiredSigningKeys(actor: "hub")
            if !deleted.isEmpty { logger.notice("deleted retired signing keys", metadata: ["kids": "\(deleted)"]) }
        }
        let upcoming = stored.flatMap { [$0.activatesAt, $0.retiresAt ?? 0] }.filter { $0 > now }.min()
        nextChange.withLock { $0 = upcoming }
        let set = SigningKeySet(stored: stored, kek: configuration.keyEncryptionKey, now: now)
        var rules = JWTValidator.Configuration(issuer: configuration.issuer, audience: "")
        rules.checksAudience = false
        let snapshot = Snapshot(
            keys: set, validator: JWTValidator(configuration: rules, keys: set.verificationKeys), verified: VerifiedTokenCache<VerifiedJWT>())
        // Same keys as before: keep the old snapshot, and with it the cache of verified tokens.
        let changed = current.withLock { state in
            let newest = installedLoad.withLock { installed in
                guard load > installed else { return false }
                installed = load
                return true
            }
            guard newest else { return false }
            guard let previous = state?.keys, previous.jwks == set.jwks, previous.signer?.keyID == set.signer?.keyID,
                previous.idTokenSigners.mapValues(\.keyID) == set.idTokenSigners.mapValues(\.keyID)
            else {
                state = snapshot
                return true
            }
            return false
        }
        if changed {
            logger.info(
                "signing keys loaded",
                metadata: ["signing": "\(set.signer?.keyID ?? "none")", "published": "\(set.jwks.keys.compactMap(\.keyID))"])
            for problem in set.problems { logger.error("\(problem)") }
        }
    }

    /// The signer of the ID-token chain of `algorithm`, generating the chain's first key when
    /// it has none. RSA key generation costs about half a second of CPU, so hubs make an
    /// ID-token key only once a client registered for its algorithm needs an ID token, and
    /// then once for every hub (the key is stored; racing hubs store one). Concurrent requests
    /// in this hub wait for the same generation.
    func idTokenSigner(creatingFor algorithm: JWSAlgorithm) async throws -> JWTSigner {
        if let signer = snapshot?.keys.idTokenSigners[algorithm] { return signer }
        let (task, isNew) = pendingIDTokenKeys.withLock { pending -> (Task<Void, any Error>, Bool) in
            if let running = pending[algorithm] { return (running, false) }
            let task = Task { try await self.addIDTokenKey(algorithm) }
            pending[algorithm] = task
            return (task, true)
        }
        defer { if isNew { _ = pendingIDTokenKeys.withLock { $0.removeValue(forKey: algorithm) } } }
        try await task.value
        guard let signer = snapshot?.keys.idTokenSigners[algorithm] else { throw OAuthError.signingUnavailable }
        return signer
    }

    /// Generates a key for the ID-token chain of `algorithm` (off the cooperative pool), stores
    /// it unless the chain got a signer meanwhile, and reloads.
    private func addIDTokenKey(_ algorithm: JWSAlgorithm) async throws {
        let now = store.clock() / 1000
        let kek = configuration.keyEncryptionKey
        let key = try await NIOThreadPool.singleton.runIfActive {
            try StoredSigningKey.generate(algorithm: algorithm, kek: kek, createdAt: now, activatesAt: now, use: .idToken)
        }
        if try await !store.addIDTokenSigningKeys([key], actor: "hub").isEmpty {
            logger.notice("generated an ID-token signing key", metadata: ["kid": "\(key.keyID)", "alg": "\(algorithm)"])
        }
        try await reload()
    }

    /// Called by the ``GlobalChangeFeed`` each time it has caught up: until `deadline` (Unix
    /// ms) it reloads the ring on every key event, so the timer need not.
    func followedByEvents(until deadline: Int64) {
        followedUntil.store(deadline, ordering: .relaxed)
    }

    func run() async throws {
        var lastLoad: ContinuousClock.Instant?
        while !Task.isCancelledOrShuttingDown {
            if reloadIsDue(lastLoad: lastLoad) {
                do {
                    try await reload()
                    lastLoad = .now
                } catch {
                    logger.warning("could not load signing keys; retrying", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: nextDelay())
        }
    }

    /// Whether the timer must reload: never loaded, the feed is not vouching, a stored key's
    /// activation or retirement has come, or the safety interval has passed.
    private func reloadIsDue(lastLoad: ContinuousClock.Instant?) -> Bool {
        guard let lastLoad else { return true }
        let now = store.clock()
        if followedUntil.load(ordering: .relaxed) <= now { return true }
        if let next = nextChange.withLock({ $0 }), next * 1000 <= now { return true }
        return lastLoad.duration(to: .now) >= Self.safetyReloadInterval
    }
}

extension KeyRing {
    /// Until the next reload: the reload interval, or less when a key activates or retires
    /// sooner (then a few milliseconds past that second, so the load sees it).
    func nextDelay() -> Duration {
        let interval = Duration.seconds(configuration.keyReloadInterval)
        guard let next = nextChange.withLock({ $0 }) else { return interval }
        let untilThen = Duration.milliseconds(max(0, next * 1000 - store.clock()) + 20)
        return min(interval, untilThen)
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
