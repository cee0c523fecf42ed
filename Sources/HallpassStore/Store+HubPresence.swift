public import HallpassRedis

/// A hub caches global records (client registrations, signing keys) and keeps them current by
/// tailing the global event stream (``StoreSchema/globalEvents``). The contract goes further:
/// a change the ops CLI makes takes effect at every hub before the next request after the CLI
/// returns. A tail alone cannot promise that: it is fast, but nothing bounds how far behind a
/// hub may be when the CLI exits. So each hub also reports which global event it has applied,
/// and the CLI, after a change, waits until every live hub has reported that event or a later
/// one (``awaitHubs(applying:within:)``). A hub that stops reporting is not live after
/// ``hubLiveness`` and is not waited for: it is gone, or cut off from Redis, where it can issue
/// no token anyway (every grant writes to Redis).
extension HallpassStore {
    /// How long (ms) after its last report a hub still counts as running.
    public static let hubLiveness: Int64 = 5000
    /// How long (ms) a hub's entry is kept after its last report before a starting hub deletes it.
    static let hubEntryRetention: Int64 = 3_600_000

    /// One running hub's report.
    public struct HubReport: Sendable, Hashable {
        /// The hub instance's id (random per process).
        public var hubID: String
        /// The newest global event the hub has applied.
        public var applied: StreamID
        /// When it said so (Unix ms).
        public var reportedAt: Int64
    }

    /// Records that hub `hubID` has applied every global event up to `applied`. Hubs call it
    /// after each batch of events and at least every second; it is also the heartbeat.
    public func reportHub(_ hubID: String, applied: String) async throws(StoreError) {
        _ = try await send(RedisCommand("HSET", StoreSchema.hubs, hubID, "\(applied) \(clock())"))
    }

    /// Removes the report of `hubID` (a hub shutting down) and those of hubs silent for an hour.
    public func removeHubReports(_ hubID: String) async throws(StoreError) {
        let now = clock()
        let stale = try await hubReports().filter { now - $0.reportedAt > Self.hubEntryRetention }.map(\.hubID)
        _ = try await send(RedisCommand("HDEL", arguments: [StoreSchema.hubs, hubID] + stale))
    }

    /// Every hub's last report, live or not.
    public func hubReports() async throws(StoreError) -> [HubReport] {
        hashBytes(try await send(RedisCommand("HGETALL", StoreSchema.hubs))).compactMap { hubID, value in
            let parts = String(decoding: value, as: UTF8.self).split(separator: " ")
            guard parts.count == 2, let reportedAt = Int64(parts[1]) else { return nil }
            return HubReport(hubID: hubID, applied: StreamID(String(parts[0])), reportedAt: reportedAt)
        }
    }

    /// The id of the newest global event (`0-0` when there is none).
    public func latestGlobalEvent() async throws(StoreError) -> String {
        try await eventStreamPositions([StoreSchema.globalEvents])[StoreSchema.globalEvents] ?? "0-0"
    }

    /// Waits until every live hub (one that reported within ``hubLiveness``) has applied the
    /// global event `eventID` or a later one, checking every few milliseconds for at most
    /// `within`. Returns the hubs still behind when the time ran out, empty when none is.
    public func awaitHubs(applying eventID: String, within: Duration) async throws(StoreError) -> [HubReport] {
        let target = StreamID(eventID)
        let deadline = ContinuousClock.now + within
        while true {
            let now = clock()
            let behind = try await hubReports().filter { now - $0.reportedAt <= Self.hubLiveness && $0.applied < target }
            if behind.isEmpty || ContinuousClock.now >= deadline { return behind.sorted { $0.hubID < $1.hubID } }
            // Cancellation (the command is being stopped) ends the wait with the hubs behind.
            do { try await Task.sleep(for: .milliseconds(2)) } catch { return behind }
        }
    }
}
