import HallpassStore

/// The in-memory mirror of the revocation records in Redis: four hash tables (sessions with
/// their revoked grants, token ids, user watermarks, client watermarks), each entry kept until
/// the tokens it can void have all expired.
///
/// One writer (the mirror task) changes it in place; readers only look it up, under the
/// validator's `ReadMostlyLock` (shared). A revocation check is at most three hash lookups,
/// and a fourth while some removed client's watermark is live (rare: clients are seldom
/// removed, and the record lapses with the last token it voids).
struct RevocationState: Sendable {
    /// Per session id: whether it ended (until when the record is kept, Unix ms) and its
    /// revoked grants. One table for both, so a check costs one lookup for the session.
    var sessions: [String: SessionRecord] = [:]
    /// Revoked token ids: jti -> drop after (Unix ms).
    var tokenIDs: [String: Int64] = [:]
    /// User watermarks: uid -> watermark (Unix s); dropped once every token it voids expired.
    var watermarks: [String: Int64] = [:]
    /// Client watermarks: client id -> watermark (Unix s); dropped likewise.
    var clientWatermarks: [String: Int64] = [:]

    struct SessionRecord: Sendable, Hashable {
        /// Set when the session ended: until when the record is kept (Unix ms).
        var endedUntil: Int64?
        /// Revoked grants: client -> revocation.
        var grants: [String: Grant] = [:]
    }

    struct Grant: Sendable, Hashable {
        /// Tokens issued at or before this (Unix s) are void.
        var revokedAt: Int64
        /// Until when the record is kept (Unix ms).
        var until: Int64
    }

    /// How long after a revocation its record is kept (ms): the longest token lifetime plus
    /// the clock skew allowed, as the store keeps its own records.
    static let retention: Int64 = (HallpassStore.maximumAccessTokenLifetime + HallpassStore.clockSkewAllowance) * 1000

    /// The state a snapshot describes, without the entries already lapsed at `now` (Unix ms).
    init(_ snapshot: RevocationSnapshot, now: Int64) {
        for (sid, until) in snapshot.endedSessions where until >= now { endSession(sid, until: until) }
        for grant in snapshot.revokedGrants where grant.until >= now {
            addGrant(session: grant.sessionID, client: grant.clientID, revokedAt: grant.revokedAt, until: grant.until)
        }
        for (jti, until) in snapshot.revokedTokenIDs where until >= now { tokenIDs[jti] = max(tokenIDs[jti] ?? 0, until) }
        for (uid, watermark) in snapshot.userWatermarks where watermark * 1000 + Self.retention >= now {
            watermarks[uid] = max(watermarks[uid] ?? 0, watermark)
        }
        for (client, watermark) in snapshot.clientWatermarks where watermark * 1000 + Self.retention >= now {
            clientWatermarks[client] = max(clientWatermarks[client] ?? 0, watermark)
        }
    }

    init() {}

    private mutating func endSession(_ sid: String, until: Int64) {
        sessions[sid, default: SessionRecord()].endedUntil = max(sessions[sid]?.endedUntil ?? until, until)
    }

    private mutating func addGrant(session: String, client: String, revokedAt: Int64, until: Int64) {
        let previous = sessions[session]?.grants[client]
        sessions[session, default: SessionRecord()].grants[client] = Grant(
            revokedAt: max(previous?.revokedAt ?? revokedAt, revokedAt), until: max(previous?.until ?? until, until))
    }

    /// Applies one event from the store's streams; returns whether it was a key change (the
    /// caller reloads keys). Unknown and irrelevant events change nothing. Applying an event
    /// twice, or one the snapshot already holds, changes nothing either.
    mutating func apply(_ event: StoreEvent) -> Bool {
        let until = event.timestamp + Self.retention
        switch event.type {
        case StoreEventType.sessionEnded:
            guard !event.session.isEmpty else { return false }
            endSession(event.session, until: until)
        case StoreEventType.grantRevoked:
            guard !event.session.isEmpty, let revokedAt = Int64(event.detail) else { return false }
            addGrant(session: event.session, client: event.client, revokedAt: revokedAt, until: until)
        case StoreEventType.tokenRevoked:
            guard !event.detail.isEmpty else { return false }
            tokenIDs[event.detail] = max(tokenIDs[event.detail] ?? 0, until)
        case StoreEventType.userTokensRevoked:
            guard !event.user.isEmpty, let watermark = Int64(event.detail) else { return false }
            watermarks[event.user] = max(watermarks[event.user] ?? 0, watermark)
        case StoreEventType.clientTokensRevoked:
            guard !event.client.isEmpty, let watermark = Int64(event.detail) else { return false }
            clientWatermarks[event.client] = max(clientWatermarks[event.client] ?? 0, watermark)
        default:
            return StoreEventType.changesSigningKeys(event.type)
        }
        return false
    }

    /// Why a token with these facts is revoked, or `nil` if it is not: at most three lookups,
    /// four while a client watermark is live. A client's own token (`isClient`) has no
    /// session or user to look up: only its `jti` and its client count.
    @inline(__always)
    func reason(
        tokenID: String, sessionID: String, userID: String, clientID: String, issuedAt: Int64, isClient: Bool = false
    ) -> RevocationReason? {
        if !isClient, !sessions.isEmpty, let session = sessions[sessionID] {
            if session.endedUntil != nil { return .session }
            if let grant = session.grants[clientID], issuedAt <= grant.revokedAt { return .grant }
        }
        if !tokenIDs.isEmpty, tokenIDs[tokenID] != nil { return .token }
        if !isClient, !watermarks.isEmpty, let watermark = watermarks[userID], issuedAt <= watermark { return .user }
        if !clientWatermarks.isEmpty, let watermark = clientWatermarks[clientID], issuedAt <= watermark { return .client }
        return nil
    }

    /// A copy without the entries that lapsed at `now` (Unix ms).
    func pruned(now: Int64) -> RevocationState {
        var copy = RevocationState()
        copy.sessions = sessions.compactMapValues { record in
            var kept = SessionRecord()
            if let until = record.endedUntil, until >= now { kept.endedUntil = until }
            kept.grants = record.grants.filter { $0.value.until >= now }
            return kept.endedUntil == nil && kept.grants.isEmpty ? nil : kept
        }
        copy.tokenIDs = tokenIDs.filter { $0.value >= now }
        copy.watermarks = watermarks.filter { $0.value * 1000 + Self.retention >= now }
        copy.clientWatermarks = clientWatermarks.filter { $0.value * 1000 + Self.retention >= now }
        return copy
    }

    /// How many records the mirror holds.
    var count: Int {
        sessions.values.reduce(0) { $0 + ($1.endedUntil == nil ? 0 : 1) + $1.grants.count } + tokenIDs.count + watermarks.count
            + clientWatermarks.count
    }
}
