import HallpassRedis

/// One back-channel logout delivery attempt that a hub claimed (see
/// ``HallpassStore/claimLogoutDeliveries(shard:limit:lease:)``).
public struct LogoutDelivery: Sendable, Hashable {
    /// The ended session (`sid` of the logout token).
    public var sessionID: String
    /// The client to notify (`aud` of the logout token).
    public var clientID: String
    /// The session's user (`sub` of the logout token).
    public var userID: String
    /// When the session ended (Unix ms); retries give up a bounded time after it.
    public var endedAt: Int64
    /// Which attempt this is, from 1.
    public var attempt: Int
}

/// How one attempt went.
public enum LogoutDeliveryOutcome: Sendable, Hashable {
    /// The client answered 2xx.
    case delivered
    /// Try again at `nextAttempt` (Unix ms); `error` is recorded as the last error.
    case retry(nextAttempt: Int64, error: String)
    /// Given up; `error` is recorded.
    case failed(error: String)
    /// The client has no back-channel logout URI (or no longer exists): nothing to send.
    case skipped
}

/// The state of one client's notification of one ended session.
public struct LogoutDeliveryStatus: Sendable, Hashable {
    /// The delivery state.
    public enum State: String, Sendable, Hashable {
        /// Queued or being retried.
        case pending
        /// The client acknowledged it (2xx).
        case delivered
        /// Retries gave up.
        case failed
    }

    /// The ended session.
    public var sessionID: String
    /// The client.
    public var clientID: String
    /// Its state.
    public var state: State
    /// Attempts so far.
    public var attempts: Int
    /// The last error, empty if none.
    public var lastError: String
}

extension HallpassStore {
    /// How long a session's delivery status is kept after it ended (ms): 48 h, matching the
    /// `PEXPIRE` in the scripts' `enqueue_logout`. Retries must give up before this.
    public static let logoutStatusRetention: Int64 = 48 * 3600 * 1000

    /// Ends the sessions of shard `shard` whose idle or absolute timeout has passed (at most
    /// `limit` per call), exactly like every other end of a session: a revocation record, a
    /// `session_ended` event with reason `idle_timeout` or `absolute_timeout`, and
    /// back-channel logouts. Any number of hubs may sweep at once. Returns how many ended.
    @discardableResult
    public func sweepExpiredSessions(shard: Int, limit: Int = 100) async throws(StoreError) -> Int {
        let prefix = StoreSchema.shardPrefix(shard)
        let deadlines = StoreSchema.sessionDeadlines(prefix: prefix), facts = StoreSchema.sessionFacts(prefix: prefix)
        let named = [deadlines, facts, StoreSchema.endedSessions(prefix: prefix), StoreSchema.events(prefix: prefix),
                     StoreSchema.logoutQueue(prefix: prefix)]
        let now = clock()
        // The sessions due now and, from their facts ("<uid> ..."), their users' indexes: keys the
        // script touches, so declared. Nothing due (the usual second), no script. The script
        // leaves a session that fell due since to the next sweep, so this is never retried.
        let due = try await send(RedisCommand("ZRANGEBYSCORE", deadlines, "-inf", now, "LIMIT", 0, limit)).array?.compactMap(\.string) ?? []
        guard !due.isEmpty else { return 0 }
        let owners = try await send(RedisCommand("HMGET", arguments: [facts] + due)).array ?? []
        var keys = named + StoreSchema.sessionsAndLogoutStatus(due, prefix: prefix)
        for owner in owners {
            if let uid = owner.string?.split(separator: " ").first { keys.append(StoreSchema.userSessions(String(uid), prefix: prefix)) }
        }
        let reply = try await run(Scripts.sweepExpired, keys: keys, arguments: [prefix, eventsPerStream, now, revocationRecordsExpire, limit])
        return Int(reply.int ?? 0)
    }

    /// Claims up to `limit` due deliveries of shard `shard`. Each is hidden from every other
    /// claim for `lease` ms, so exactly one hub sends a given attempt; a hub that dies with a
    /// claimed delivery leaves it to be claimed again when the lease runs out (at-least-once).
    public func claimLogoutDeliveries(shard: Int, limit: Int = 32, lease: Int64 = 30_000) async throws(StoreError) -> [LogoutDelivery] {
        let prefix = StoreSchema.shardPrefix(shard)
        let queue = StoreSchema.logoutQueue(prefix: prefix)
        let now = clock()
        // The logout status of each due delivery's session ("<sid> <client>"), declared; one
        // that fell due since is left to the next claim, so this is never retried.
        let due = try await send(RedisCommand("ZRANGEBYSCORE", queue, "-inf", now, "LIMIT", 0, limit)).array?.compactMap(\.string) ?? []
        guard !due.isEmpty else { return [] }
        let sessions = Set(due.compactMap { $0.split(separator: " ").first.map(String.init) })
        let reply = try await run(
            Scripts.claimLogoutDeliveries, keys: [queue] + sessions.sorted().map { StoreSchema.logoutStatus($0, prefix: prefix) },
            arguments: [prefix, now, lease, limit])
        guard let items = reply.array else { throw .failed(.unexpectedReply("claim: \(reply)")) }
        var deliveries: [LogoutDelivery] = []
        var index = 0
        while index + 4 < items.count {
            if let sid = items[index].string, let client = items[index + 1].string, let uid = items[index + 2].string {
                deliveries.append(LogoutDelivery(
                    sessionID: sid, clientID: client, userID: uid, endedAt: items[index + 3].int ?? 0,
                    attempt: Int(items[index + 4].int ?? 1)))
            }
            index += 5
        }
        return deliveries
    }

    /// Records how a claimed attempt went.
    public func finishLogoutDelivery(_ delivery: LogoutDelivery, _ outcome: LogoutDeliveryOutcome) async throws(StoreError) {
        guard let prefix = StoreSchema.prefix(of: delivery.sessionID) else { return }
        let fields: (name: String, next: Int64, error: String)
        switch outcome {
        case .delivered: fields = ("delivered", 0, "")
        case .retry(let at, let text): fields = ("retry", at, String(text.prefix(200)))
        case .failed(let text): fields = ("failed", 0, String(text.prefix(200)))
        case .skipped: fields = ("skipped", 0, "")
        }
        let (name, next, error) = fields
        _ = try await run(
            Scripts.finishLogoutDelivery,
            keys: [StoreSchema.logoutQueue(prefix: prefix), StoreSchema.logoutStatus(delivery.sessionID, prefix: prefix)],
            arguments: [prefix, delivery.sessionID, delivery.clientID, name, next, error, clock()])
    }

    /// The back-channel logout status of every client of the given ended sessions (one round
    /// trip). Sessions whose status lapsed (48 h) or that had no clients have no entries.
    public func logoutDeliveries(sessionIDs: [String]) async throws(StoreError) -> [LogoutDeliveryStatus] {
        let known = sessionIDs.compactMap { sid in StoreSchema.prefix(of: sid).map { (sid, $0) } }
        guard !known.isEmpty else { return [] }
        let replies = try await pipeline(known.map { RedisCommand("HGETALL", StoreSchema.logoutStatus($0.0, prefix: $0.1)) })
        var statuses: [LogoutDeliveryStatus] = []
        for ((sid, _), reply) in zip(known, replies) {
            let fields = hashFields(reply)
            for (field, value) in fields where field.hasPrefix("s:") {
                let client = String(field.dropFirst(2))
                guard let state = LogoutDeliveryStatus.State(rawValue: value) else { continue }
                statuses.append(LogoutDeliveryStatus(
                    sessionID: sid, clientID: client, state: state, attempts: Int(fields["n:" + client] ?? "") ?? 0,
                    lastError: fields["e:" + client] ?? ""))
            }
        }
        return statuses.sorted { ($0.clientID, $0.sessionID) < ($1.clientID, $1.sessionID) }
    }

    /// How many deliveries are queued (pending or being retried) over all shards.
    public func logoutQueueDepth() async throws(StoreError) -> Int {
        let replies = try await pipeline((0..<StoreSchema.shardCount).map {
            RedisCommand("ZCARD", StoreSchema.logoutQueue(prefix: StoreSchema.shardPrefix($0)))
        })
        return replies.reduce(0) { $0 + Int($1.int ?? 0) }
    }
}
