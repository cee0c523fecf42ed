import HallpassRedis
import HallpassStore
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps the hub's copies of global records (client registrations, signing keys) current from
/// the global event stream, as validators keep their revocation mirror current: one dedicated
/// connection blocked in `XREAD` on ``StoreSchema/globalEvents``, woken by every change.
///
/// - `client_*` events empty the client cache, so the next request reads the record anew.
/// - `key*` events (``StoreEventType/changesSigningKeys(_:)``, the validators' rule too) reload
///   the signing keys, so a key activated with `--activate-now` signs the next token and a
///   withdrawn one signs nothing more.
/// - Policies need nothing: every grant reads them from Redis.
///
/// After each batch, and at least once a second, the hub reports the newest event it has
/// applied (``HallpassStore/reportHub(_:applied:)``); the ops CLI waits for every live hub's
/// report before it returns from a change, which makes "the next request after the CLI returns
/// sees the change" true at every hub, not only likely.
///
/// Whenever the hub may have missed events (at start, after a lost connection, or after a
/// batch so large that the bounded stream could have been trimmed past it), it forgets every
/// cached client and reloads the keys before it reports.
final class GlobalChangeFeed: Service, Sendable {
    /// How long (ms) a `XREAD` waits for an event before the hub reports anyway (the heartbeat).
    static let block: Int64 = 1000
    /// Events per read; a batch this full may have a gap behind it.
    static let batch = 500

    private let store: HallpassStore
    private let keyRing: KeyRing
    private let clients: ClientCache
    private let logger: Logger
    /// This process's id in the hubs' reports.
    let hubID: String
    /// The tail being read, closed at shutdown.
    private let openTail = Mutex<EventLogTail?>(nil)

    init(store: HallpassStore, keyRing: KeyRing, clients: ClientCache, logger: Logger) throws {
        self.store = store
        self.keyRing = keyRing
        self.clients = clients
        self.logger = logger
        self.hubID = try Identifiers.make()
    }

    func run() async throws {
        // A read blocks in Redis for up to a second; closing the tail ends it at once.
        await withGracefulShutdownHandler {
            await self.followUntilShutdown()
        } onGracefulShutdown: {
            if let tail = self.openTail.withLock({ $0 }) { Task { await tail.close() } }
        }
        try? await store.removeHubReports(hubID)
    }

    private func followUntilShutdown() async {
        var failures = 0
        while !Task.isCancelledOrShuttingDown {
            do {
                try await follow()
            } catch {
                failures += 1
                if failures == 1 || failures % 30 == 0 {
                    logger.warning("lost the global event feed; re-reading clients and keys from Redis until it is back", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .milliseconds(min(100 * failures, 1000)))
                continue
            }
        }
    }

    /// Opens the tail, catches up (caches emptied, keys reloaded) and applies events until the
    /// connection fails or the hub stops.
    private func follow() async throws {
        let stream = StoreSchema.globalEvents
        let tail = try await EventLogTail.open(redis: store.redis, streams: [stream])
        openTail.withLock { $0 = tail }
        do {
            var position = try await store.latestGlobalEvent()
            try await catchUp(to: position)
            while !Task.isCancelledOrShuttingDown {
                let events = try await tail.read(after: [stream: position], count: Self.batch, block: Self.block)
                if events.count >= Self.batch {
                    position = events[events.count - 1].id
                    try await catchUp(to: position)
                    continue
                }
                if !events.isEmpty {
                    try await apply(events)
                    position = events[events.count - 1].id
                }
                try await report(position)
            }
            await tail.close()
        } catch {
            await tail.close()
            throw error
        }
    }

    /// Forgets what may be stale and reports `position` as applied.
    private func catchUp(to position: String) async throws {
        clients.removeAll()
        try await keyRing.reload()
        try await report(position)
    }

    private func apply(_ events: [StoreEvent]) async throws {
        if events.contains(where: { $0.type.hasPrefix("client_") }) { clients.removeAll() }
        if events.contains(where: { StoreEventType.changesSigningKeys($0.type) }) { try await keyRing.reload() }
    }

    private func report(_ position: String) async throws {
        try await store.reportHub(hubID, applied: position)
        // Vouch for the keys until the next read should have returned, with a margin.
        keyRing.followedByEvents(until: store.clock() + Self.block + 2000)
    }
}
