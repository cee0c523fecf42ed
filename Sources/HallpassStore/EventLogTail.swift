public import HallpassRedis

/// Dedicated connections that read event streams (every one, ``StoreSchema/eventStreams``, by
/// default) from wherever they live: the tail of the event log, for validators, hubs (the
/// global stream alone) and `hallpass events --follow`.
///
/// - **One server** (or a Sentinel's master), or streams that share one cluster slot: one
///   connection and one `XREAD BLOCK` over all of them, exactly as
///   ``HallpassStore/readEvents(on:streams:after:count:block:)`` does.
/// - **Redis Cluster**: a cluster refuses a multi-key command whose keys are in different slots
///   (`CROSSSLOT`), even on one node, and each stream has a slot of its own; a blocking read per
///   stream would take 17 connections. So there is one connection per master serving some
///   streams, and each read sends every master, at once, one non-blocking `XREAD` per stream it
///   serves (pipelined, one write), repeating every poll interval (``clusterPollInterval`` by
///   default) until something
///   arrives or `block` runs out. Connections are bounded by the masters; the cost is a poll.
///
/// When the cluster's layout changes, a read fails (`MOVED` for a stream that moved, or a lost
/// connection): close the tail and open a new one, which groups the streams anew, and go on
/// from the same positions.
public final class EventLogTail: Sendable {
    /// How often, by default, a read on a Redis Cluster that found nothing asks again while it
    /// may block. It bounds the extra delay before an event is seen; each poll costs one `XREAD`
    /// per stream (measured: one idle tail costs the three masters of a test cluster about 4 %
    /// of a core together).
    public static let clusterPollInterval: Duration = .milliseconds(5)

    private let redis: RedisClient
    private let streams: [String]
    private let groups: [RedisNodeConnection]
    private let isCluster: Bool
    private let pollInterval: Duration

    private init(redis: RedisClient, streams: [String], groups: [RedisNodeConnection], isCluster: Bool, pollInterval: Duration) {
        self.redis = redis
        self.streams = streams
        self.groups = groups
        self.isCluster = isCluster
        self.pollInterval = pollInterval
    }

    /// Opens the connections (one, or one per master holding `streams`). `pollInterval` is how
    /// often a blocking read polls on a cluster when the streams span slots; otherwise Redis
    /// blocks and it is not used.
    ///
    /// - Throws: ``StoreError/unavailable(_:)`` when a connection cannot be made.
    public static func open(
        redis: RedisClient, streams: [String] = StoreSchema.eventStreams, pollInterval: Duration = EventLogTail.clusterPollInterval
    ) async throws(StoreError) -> EventLogTail {
        let isCluster: Bool
        if case .cluster = redis.configuration.topology { isCluster = true } else { isCluster = false }
        do {
            let groups = try await redis.makeDedicatedConnections(forKeys: streams)
            return EventLogTail(redis: redis, streams: streams, groups: groups, isCluster: isCluster, pollInterval: pollInterval)
        } catch {
            throw StoreError(error)
        }
    }

    /// Whether one `XREAD BLOCK` on one connection reads every stream: on one server, or on a
    /// cluster when they all share a slot (a single stream, say).
    private var blocksInRedis: Bool {
        guard self.groups.count == 1 else { return false }
        return !self.isCluster || Set(self.streams.map { RedisSlot.of($0) }).count == 1
    }

    /// How many connections the tail holds.
    public var connectionCount: Int { self.groups.count }

    /// Where a snapshot that must line up with this tail is read
    /// (``HallpassStore/revocationSnapshot(on:)``, ``HallpassStore/canResumeEvents(after:on:)``):
    /// the tail's own connection on one server, the client (whose pipelines reach every
    /// master) on a cluster.
    public var snapshotReader: any RedisPipelining {
        if self.blocksInRedis, let only = self.groups.first { return only.connection }
        return self.redis
    }

    /// Events after `positions` (`id` per stream; absent for the beginning), oldest first,
    /// waiting up to `block` milliseconds for the first when none are pending (`nil`: not at
    /// all). Returns empty when `block` passes with nothing new.
    ///
    /// - Throws: ``StoreError`` when a connection fails or a stream's slot moved (`MOVED`):
    ///   open a new tail.
    public func read(after positions: [String: String], count: Int, block: Int64?) async throws(StoreError) -> [StoreEvent] {
        if self.blocksInRedis, let only = self.groups.first {
            return try await HallpassStore.readEvents(on: only.connection, streams: self.streams, after: positions, count: count, block: block)
        }
        let deadline = ContinuousClock.now + .milliseconds(block ?? 0)
        while true {
            let events = try await self.poll(after: positions, count: count)
            if !events.isEmpty || block == nil { return events }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return [] }
            do {
                try await Task.sleep(for: min(self.pollInterval, left))
            } catch {
                // Cancelled: the caller is stopping, and nothing was missed.
                return []
            }
        }
    }

    /// Closes every connection; a read under way fails.
    public func close() async {
        for group in self.groups {
            await group.connection.close()
        }
    }

    /// One non-blocking `XREAD` per stream, each master's in one write, all masters at once.
    private func poll(after positions: [String: String], count: Int) async throws(StoreError) -> [StoreEvent] {
        let outcomes = await withTaskGroup(of: Result<[StoreEvent], StoreError>.self) { group in
            for node in self.groups {
                group.addTask {
                    let commands = node.keys.map { stream in
                        RedisCommand("XREAD", "COUNT", count, "STREAMS", stream, positions[stream] ?? "0")
                    }
                    do throws(StoreError) {
                        let replies = try await HallpassStore.pipeline(commands, on: node.connection)
                        var events: [StoreEvent] = []
                        for reply in replies {
                            for entry in reply.array ?? [] {
                                guard let pair = entry.array, pair.count == 2, let stream = pair[0].string else { continue }
                                events += HallpassStore.streamEntries(pair[1], stream: stream)
                            }
                        }
                        return .success(events)
                    } catch {
                        return .failure(error)
                    }
                }
            }
            var collected: [Result<[StoreEvent], StoreError>] = []
            for await outcome in group { collected.append(outcome) }
            return collected
        }
        var events: [StoreEvent] = []
        for outcome in outcomes {
            guard case .success(let found) = outcome else {
                // A stream moved (MOVED) or a master went: learn the layout now, so the tail
                // the caller opens next groups the streams by their new masters.
                _ = try? await self.redis.clusterTopology(refresh: true)
                return try outcome.get()
            }
            events += found
        }
        events.sort { HallpassStore.streamOrder($0.id, $1.id) }
        return events
    }
}
