import HallpassStore

/// The in-memory mirror of the revocation records in Redis: four hash tables, each entry
/// kept until the tokens it can void have all expired.
///
/// One writer (the mirror task) changes it in place; readers only look it up, under the
/// validator's short `Mutex`. A revocation check is at most four hash lookups.
struct RevocationState: Sendable {
    /// Ended sessions: sid -> drop after (Unix ms).
    var sessions: [String: Int64] = [:]
    /// Revoked grants: sid -> client -> (revoked at (Unix s), drop after (Unix ms)).
    var grants: [String: [String: Grant]] = [:]
    /// Revoked token ids: jti -> drop after (Unix ms).
    var tokenIDs: [String: Int64] = [:]
    /// User watermarks: uid -> watermark (Unix s); dropped once every token it voids expired.
    var watermarks: [String: Int64] = [:]

    struct Grant: Sendable, Hashable {
        var revokedAt: Int64
        var until: Int64
    }

    /// How long after a revocation its record is kept (ms): the longest token lifetime plus
    /// the clock skew allowed, as the store keeps its own records.
    static let retention: Int64 = (HallpassStore.maximumAccessTokenLifetime + HallpassStore.clockSkewAllowance) * 1000

    /// The state a snapshot describes, without the entries already lapsed at `now` (Unix ms).
    init(_ snapshot: RevocationSnapshot, now: Int64) {
        for (sid, until) in snapshot.endedSessions where until >= now { sessions[sid] = max(sessions[sid] ?? 0, until) }
        for grant in snapshot.revokedGrants where grant.until >= now {
            addGrant(session: grant.sessionID, client: grant.clientID, revokedAt: grant.revokedAt, until: grant.until)
        }
        for (jti, until) in snapshot.revokedTokenIDs where until >= now { tokenIDs[jti] = max(tokenIDs[jti] ?? 0, until) }
        for (uid, watermark) in snapshot.userWatermarks where watermark * 1000 + Self.retention >= now {
            watermarks[uid] = max(watermarks[uid] ?? 0, watermark)
        }
    }

    init() {}

    private mutating func addGrant(session: String, client: String, revokedAt: Int64, until: Int64) {
        var byClient = grants[session] ?? [:]
        let previous = byClient[client]
        byClient[client] = Grant(revokedAt: max(previous?.revokedAt ?? revokedAt, revokedAt), until: max(previous?.until ?? until, until))
        grants[session] = byClient
    }

    /// Applies one event from the stores' streams; returns whether it was a key change (the
    /// caller reloads keys). Unknown and irrelevant events change nothing.
    mutating func apply(_ event: StoreEvent) -> Bool {
        let until = event.timestamp + Self.retention
        switch event.type {
        case StoreEventType.sessionEnded:
            guard !event.session.isEmpty else { return false }
            sessions[event.session] = max(sessions[event.session] ?? 0, until)
        case StoreEventType.grantRevoked:
            guard !event.session.isEmpty, let revokedAt = Int64(event.detail) else { return false }
            addGrant(session: event.session, client: event.client, revokedAt: revokedAt, until: until)
        case StoreEventType.tokenRevoked:
            guard !event.detail.isEmpty else { return false }
            tokenIDs[event.detail] = max(tokenIDs[event.detail] ?? 0, until)
        case StoreEventType.userTokensRevoked:
            guard !event.user.isEmpty, let watermark = Int64(event.detail) else { return false }
            watermarks[event.user] = max(watermarks[event.user] ?? 0, watermark)
        default:
            return StoreEventType.changesSigningKeys(event.type)
        }
        return false
    }

    /// Why a token with these facts is revoked, or `nil` if it is not.
    @inline(__always)
    func reason(tokenID: String, sessionID: String, userID: String, clientID: String, issuedAt: Int64) -> RevocationReason? {
        if !sessions.isEmpty, sessions[sessionID] != nil { return .session }
        if !grants.isEmpty, let byClient = grants[sessionID], let grant = byClient[clientID], issuedAt <= grant.revokedAt {
            return .grant
        }
        if !tokenIDs.isEmpty, tokenIDs[tokenID] != nil { return .token }
        if !watermarks.isEmpty, let watermark = watermarks[userID], issuedAt <= watermark { return .user }
        return nil
    }

    /// A copy without the entries that lapsed at `now` (Unix ms).
    func pruned(now: Int64) -> RevocationState {
        var copy = RevocationState()
        copy.sessions = sessions.filter { $0.value >= now }
        copy.tokenIDs = tokenIDs.filter { $0.value >= now }
        copy.watermarks = watermarks.filter { $0.value * 1000 + Self.retention >= now }
        copy.grants = grants.compactMapValues { byClient in
            let live = byClient.filter { $0.value.until >= now }
            return live.isEmpty ? nil : live
        }
        return copy
    }

    /// How many records the mirror holds.
    var count: Int { sessions.count + tokenIDs.count + watermarks.count + grants.values.reduce(0) { $0 + $1.count } }
}
