import HallpassRedis
import HallpassCrypto

/// How long sessions live.
public struct SessionTimeouts: Sendable, Hashable {
    /// A session nobody refreshed for this long ends (s). Default 30 minutes.
    public var idle: Int64
    /// A session ends this long after login whatever happens (s). Default 10 hours.
    public var absolute: Int64

    /// Timeouts; the defaults are the contract's.
    public init(idle: Int64 = 30 * 60, absolute: Int64 = 10 * 3600) {
        self.idle = idle
        self.absolute = absolute
    }
}

/// The result of ``HallpassStore/startSession(userID:clientID:scope:timeouts:defaultPolicy:actor:remoteAddress:)``.
public enum LoginOutcome: Sendable, Hashable {
    /// A new session with its first grant.
    case started(StartedSession)
    /// Refused: the `deny-new` policy applies and the user has a live session.
    case sessionExists
    /// Refused: the user is disabled.
    case userDisabled
    /// Refused: no such user.
    case unknownUser
}

/// A session that was just started.
public struct StartedSession: Sendable, Hashable {
    /// The new session's id.
    public var sessionID: String
    /// The first refresh token of the client's grant.
    public var refreshToken: RefreshToken
    /// The user's "not before" watermark (Unix s); tokens must be issued after it.
    public var userNotBefore: Int64
    /// Sessions the `newest-wins` policy ended.
    public var endedSessions: [String]
}

/// The result of ``HallpassStore/rotate(_:clientID:grace:actor:)``.
public enum RefreshOutcome: Sendable, Hashable {
    /// The token was current; here is its successor.
    case rotated(RefreshGrant)
    /// The token was rotated within the grace window; here is the same successor again.
    case replayed(RefreshGrant)
    /// The token had been rotated before the grace window: the session is ended.
    case reuseDetected(userID: String)
    /// The token names no live grant of this client (unknown, expired, ended, revoked).
    case invalid
}

/// What a refresh grants.
public struct RefreshGrant: Sendable, Hashable {
    /// The successor refresh token.
    public var refreshToken: RefreshToken
    /// The user's id.
    public var userID: String
    /// When the user authenticated (Unix s).
    public var authTime: Int64
    /// The grant's scope.
    public var scope: String
    /// The user's "not before" watermark (Unix s).
    public var userNotBefore: Int64
    /// How the user authenticated in the session (`amr`, `acr`).
    public var methods: AuthenticationMethods = .password
    /// The user's username (`preferred_username`), when the store read it along.
    public var username: String?
}

/// The facts of an access token that revocation state can void.
public struct AccessTokenFacts: Sendable, Hashable {
    /// `jti`.
    public var tokenID: String
    /// `sid`; `nil` for a client's own token (client credentials grant), which belongs to no
    /// session.
    public var sessionID: String?
    /// `sub`: the user's id, or for a client's own token the client's id.
    public var userID: String
    /// `client_id`.
    public var clientID: String
    /// `iat` (Unix s).
    public var issuedAt: Int64

    /// Facts of one token; `sessionID` is `nil` for a client's own token.
    public init(tokenID: String, sessionID: String?, userID: String, clientID: String, issuedAt: Int64) {
        self.tokenID = tokenID
        self.sessionID = sessionID
        self.userID = userID
        self.clientID = clientID
        self.issuedAt = issuedAt
    }

    /// Whether the token is a client's own (client credentials grant): no session, no user.
    public var isClientToken: Bool { sessionID == nil }
}

/// A client's live grant within a session.
public struct LiveGrant: Sendable, Hashable {
    /// The session.
    public var session: SessionRecord
    /// The client holding the grant.
    public var clientID: String
    /// The granted scope.
    public var scope: String
}

extension HallpassStore {
    /// Starts a session for a user whose password was verified, enforcing the single-login
    /// policy (the user's own, else `defaultPolicy`) in the same atomic script, so two logins
    /// racing at several hubs never leave two sessions under `newest-wins` or `deny-new`.
    public func startSession(
        userID: String, clientID: String, scope: String, timeouts: SessionTimeouts,
        defaultPolicy: SingleLoginPolicy, actor: String, remoteAddress: String, userAgent: String = "",
        methods: AuthenticationMethods = .password
    ) async throws(StoreError) -> LoginOutcome {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { return .unknownUser }
        let sessionID: String
        let token: RefreshToken
        do {
            sessionID = try Identifiers.make(inShardOf: userID)
            token = try RefreshToken.issue(sessionID: sessionID)
        } catch {
            throw .failed(.unexpectedReply("\(error)"))
        }
        switch try await runStartSession(
            userID: userID, prefix: prefix, sessionID: sessionID, grant: (clientID, token, scope), cookieVerifier: nil,
            timeouts: timeouts, defaultPolicy: defaultPolicy, actor: actor, remoteAddress: remoteAddress, userAgent: userAgent,
            methods: methods)
        {
        case .started(let watermark, let ended, _):
            return .started(StartedSession(sessionID: sessionID, refreshToken: token, userNotBefore: watermark, endedSessions: ended))
        case .sessionExists: return .sessionExists
        case .userDisabled: return .userDisabled
        case .unknownUser: return .unknownUser
        }
    }

    /// What the start-session script answered.
    enum SessionStart {
        case started(userNotBefore: Int64, endedSessions: [String], at: Int64)
        case sessionExists, userDisabled, unknownUser
    }

    /// Runs the one start-session script, for a login through a grant (`grant` given) or at
    /// the hub's browser form (no grant yet; `cookieVerifier` given), so the single-login
    /// policy is enforced the same way for both.
    func runStartSession(
        userID: String, prefix: String, sessionID: String, grant: (clientID: String, token: RefreshToken, scope: String)?,
        cookieVerifier: [UInt8]?, timeouts: SessionTimeouts, defaultPolicy: SingleLoginPolicy, actor: String,
        remoteAddress: String, userAgent: String, methods: AuthenticationMethods
    ) async throws(StoreError) -> SessionStart {
        let now = clock()
        let grantArguments: [any RedisArgument] =
            grant.map { [$0.clientID, $0.token.grantID, $0.token.verifier, $0.scope] } ?? ["", "", "", ""]
        let named = [
            StoreSchema.user(userID, prefix: prefix), StoreSchema.userSessions(userID, prefix: prefix),
            StoreSchema.session(sessionID, prefix: prefix),
        ] + StoreSchema.shardKeys(prefix: prefix)
        let reply = try await run(
            Scripts.startSession,
            declaring: { () async throws(StoreError) -> [String] in
                let sessions = try await self.sessionsToDeclare(userID: userID, prefix: prefix, defaultPolicy: defaultPolicy)
                return named + StoreSchema.sessionsAndLogoutStatus(sessions, prefix: prefix)
            },
            arguments: [prefix, eventsPerStream, userID, sessionID] + grantArguments + [
                now, now + timeouts.absolute * 1000, timeouts.idle * 1000, defaultPolicy.rawValue,
                revocationRecordsExpire, actor, remoteAddress, Self.storedUserAgent(userAgent), cookieVerifier ?? [],
                methods.stored,
            ])
        guard let items = reply.array, let status = items.first?.string else { throw .failed(.unexpectedReply("\(reply)")) }
        switch status {
        case "ok":
            let watermark = items.count > 1 ? items[1].int ?? 0 : 0
            return .started(userNotBefore: watermark, endedSessions: items.dropFirst(2).compactMap(\.string), at: now)
        case "session_exists": return .sessionExists
        case "disabled": return .userDisabled
        case "no_user": return .unknownUser
        default: throw .failed(.unexpectedReply("startSession: \(status)"))
        }
    }

    /// The sessions a login must declare: under the single-login policy `off`, a few entries
    /// of the user's index drawn at random, for the script to prune; under the others, all of
    /// them, for it to check or end. One round trip when the user's own policy agrees with
    /// the default (the usual case), two otherwise or when a policy other than `off` finds
    /// more than ``indexReadAhead`` entries.
    ///
    /// Guessing a policy other than `off` reads at most ``indexReadAhead`` entries: a user
    /// whose own policy is `off` can hold thousands of sessions, and reading the whole index
    /// only to learn that made each of their logins cost Redis and the hub O(sessions) (850 µs
    /// of Redis and 2.8 ms of hub a login at 5,000 sessions, `ops/bench hub` login-cheap).
    func sessionsToDeclare(userID: String, prefix: String, defaultPolicy: SingleLoginPolicy) async throws(StoreError) -> [String] {
        let index = StoreSchema.userSessions(userID, prefix: prefix)
        let all = RedisCommand("ZRANGE", index, 0, -1)
        // Drawn before the script drops the entries past their absolute expiry, so some of
        // the eight may be those.
        let sample = RedisCommand("ZRANDMEMBER", index, 8)
        let guessedOff = defaultPolicy == .off
        let policy = RedisCommand("HGET", StoreSchema.user(userID, prefix: prefix), "pol")
        // The count only tells whether the read-ahead got every entry, so `off` skips it.
        let replies = try await pipeline(
            guessedOff
                ? [policy, sample]
                : [policy, RedisCommand("ZRANGE", index, 0, Self.indexReadAhead - 1), RedisCommand("ZCARD", index)])
        // As the script decides: an empty stored policy means the default.
        let stored = replies[0].string ?? ""
        let off = stored.isEmpty ? guessedOff : stored == SingleLoginPolicy.off.rawValue
        let reply: RedisValue
        if off {
            reply = guessedOff ? replies[1] : try await send(sample)
        } else if !guessedOff, let count = replies[2].int, count <= Self.indexReadAhead {
            reply = replies[1]
        } else {
            // A policy that ends or refuses sessions keeps the index near one live entry, so
            // this whole read is rare: a user whose policy was `off` until just now.
            reply = try await send(all)
        }
        return reply.array?.compactMap(\.string) ?? []
    }

    /// How many entries of a user's session index a login reads before it knows the user's
    /// policy (``sessionsToDeclare(userID:prefix:defaultPolicy:)``).
    static let indexReadAhead: Int64 = 64

    /// Waits, as ``durability`` says, until the replicas hold everything the master holds for
    /// session `sessionID`'s shard. After ``rotate(_:clientID:grace:actor:)`` reported reuse,
    /// the session end its script made is a security write like a logout; confirming it here,
    /// and only then, keeps `WAIT` off every ordinary rotation.
    ///
    /// - Throws: ``StoreError/notDurable(acknowledged:required:)`` when too few replicas
    ///   acknowledged in time. The session is ended on the master all the same; calling this
    ///   again confirms it then.
    public func confirmSessionEnd(_ sessionID: String) async throws(StoreError) {
        guard durability.replicas > 0, let prefix = StoreSchema.prefix(of: sessionID) else { return }
        _ = try await run(Scripts.confirm, keys: [StoreSchema.session(sessionID, prefix: prefix)], arguments: [prefix], durable: true)
    }

    /// Rotates `token` for `clientID`: the successor if it was current, the same successor if
    /// it was rotated no more than `grace` milliseconds ago, and otherwise (reuse) the end of
    /// the whole session. Exactly one successor ever exists per token, whatever the
    /// concurrency: the decision is one atomic script.
    public func rotate(_ token: RefreshToken, clientID: String, grace: Int64, actor: String) async throws(StoreError) -> RefreshOutcome {
        guard let prefix = StoreSchema.prefix(of: token.sessionID) else { return .invalid }
        let successor: RefreshToken
        do { successor = try token.successor() } catch { throw .failed(.unexpectedReply("\(error)")) }
        let lineage = token.lineage
        let reply = try await run(
            Scripts.rotateRefreshToken, onSession: token.sessionID, prefix: prefix,
            arguments: [
                prefix, eventsPerStream, clientID, token.grantID, token.verifier, successor.verifier,
                token.seal(successor: successor), clock(), grace, revocationRecordsExpire, actor, lineage.random, lineage.tag,
            ])
        guard let items = reply.array, let status = items.first?.string else { throw .failed(.unexpectedReply("\(reply)")) }
        func grant(_ refreshToken: RefreshToken) throws(StoreError) -> RefreshGrant {
            guard items.count >= 5, let uid = items[1].string, let authTime = items[2].int, let scope = items[3].string else {
                throw .failed(.unexpectedReply("rotate: \(status) with \(items.count) fields"))
            }
            // After the fixed fields: amr and the username ('replayed' has the sealed successor first).
            let tail = status == "replayed" ? 6 : 5
            return RefreshGrant(
                refreshToken: refreshToken, userID: uid, authTime: authTime, scope: scope, userNotBefore: items[4].int ?? 0,
                methods: AuthenticationMethods(stored: items.count > tail ? items[tail].string ?? "" : ""),
                username: items.count > tail + 1 ? items[tail + 1].string : nil)
        }
        switch status {
        case "rotated":
            return .rotated(try grant(successor))
        case "replayed":
            guard items.count >= 6, let sealed = items[5].bytes, let earlier = token.unseal(sealed) else {
                throw .corruptRecord("sealed successor of session \(token.sessionID)")
            }
            return .replayed(try grant(earlier))
        case "reuse":
            return .reuseDetected(userID: items.count > 1 ? items[1].string ?? "" : "")
        case "invalid":
            return .invalid
        default:
            throw .failed(.unexpectedReply("rotate: \(status)"))
        }
    }

    /// Ends a session at every app. Returns the user's id if the session was live.
    @discardableResult
    public func endSession(_ sessionID: String, reason: String, actor: String) async throws(StoreError) -> String? {
        guard Identifiers.isWellFormed(sessionID), let prefix = StoreSchema.prefix(of: sessionID) else { return nil }
        let reply = try await run(
            Scripts.endSession, onSession: sessionID, prefix: prefix,
            arguments: [prefix, eventsPerStream, clock(), revocationRecordsExpire, reason, actor], durable: true)
        guard let items = reply.array, items.first?.int == 1 else { return nil }
        return items.count > 1 ? items[1].string : nil
    }

    /// Revokes the grant `token` belongs to (RFC 7009): its refresh token and the access tokens
    /// issued under it. The session ends with its last grant. Returns `nil` if `token` names no
    /// live grant of `clientID`, else whether the session ended.
    public func revokeGrant(_ token: RefreshToken, clientID: String, actor: String) async throws(StoreError) -> Bool? {
        guard let prefix = StoreSchema.prefix(of: token.sessionID) else { return nil }
        let now = clock()
        let reply = try await run(
            Scripts.revokeGrant, onSession: token.sessionID, prefix: prefix,
            arguments: [
                prefix, eventsPerStream, clientID, token.grantID, token.verifier, now, revocationRecordsExpire,
                now / 1000, actor,
            ], durable: true)
        guard let items = reply.array, items.first?.int == 1 else { return nil }
        return items.count > 2 && items[2].int == 1
    }

    /// The live session `sessionID`, if any.
    public func session(id sessionID: String) async throws(StoreError) -> SessionRecord? {
        guard Identifiers.isWellFormed(sessionID), let prefix = StoreSchema.prefix(of: sessionID) else { return nil }
        let fields = hashFields(try await send(RedisCommand("HGETALL", StoreSchema.session(sessionID, prefix: prefix))))
        return Self.sessionRecord(id: sessionID, fields)
    }

    /// The live sessions of a user, oldest first.
    public func sessions(ofUser userID: String) async throws(StoreError) -> [SessionRecord] {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { return [] }
        let ids = (try await send(RedisCommand("ZRANGE", StoreSchema.userSessions(userID, prefix: prefix), 0, -1))).array?
            .compactMap(\.string) ?? []
        guard !ids.isEmpty else { return [] }
        let replies = try await pipeline(ids.map { RedisCommand("HGETALL", StoreSchema.session($0, prefix: prefix)) })
        return zip(ids, replies).compactMap { Self.sessionRecord(id: $0, hashFields($1)) }.sorted { $0.authTime < $1.authTime }
    }

    /// The longest user agent a session keeps (bytes). Every value of the session hash stays at
    /// most 64 bytes, so Redis keeps it as a compact listpack (see docs/DESIGN.md, memory).
    public static let maximumStoredUserAgent = 64

    /// `userAgent` cut to ``maximumStoredUserAgent`` bytes on a character boundary, control
    /// characters dropped.
    static func storedUserAgent(_ userAgent: String) -> String {
        var kept = String.UnicodeScalarView()
        var bytes = 0
        for scalar in userAgent.unicodeScalars where scalar.value >= 0x20 && scalar.value != 0x7F {
            let size = UTF8.width(scalar)
            guard bytes + size <= maximumStoredUserAgent else { break }
            kept.append(scalar)
            bytes += size
        }
        return String(kept)
    }

    /// The live sessions of every user, ordered by user id, then oldest first. Three round
    /// trips whatever the number of users (the username index, the session indexes, the sessions).
    public func allSessions() async throws(StoreError) -> [SessionRecord] {
        let index = hashFields(try await send(RedisCommand("HGETALL", StoreSchema.usernames)))
        let users: [(id: String, prefix: String)] = index.values.sorted().compactMap { id in
            guard Identifiers.isWellFormed(id), let prefix = StoreSchema.prefix(of: id) else { return nil }
            return (id, prefix)
        }
        guard !users.isEmpty else { return [] }
        let indexes = try await pipeline(users.map { RedisCommand("ZRANGE", StoreSchema.userSessions($0.id, prefix: $0.prefix), 0, -1) })
        var sids: [(sid: String, prefix: String)] = []
        for (user, reply) in zip(users, indexes) {
            for sid in reply.array?.compactMap(\.string) ?? [] { sids.append((sid, user.prefix)) }
        }
        guard !sids.isEmpty else { return [] }
        let replies = try await pipeline(sids.map { RedisCommand("HGETALL", StoreSchema.session($0.sid, prefix: $0.prefix)) })
        return zip(sids, replies).compactMap { Self.sessionRecord(id: $0.sid, hashFields($1)) }
            .sorted { ($0.userID, $0.authTime, $0.id) < ($1.userID, $1.authTime, $1.id) }
    }

    static func sessionRecord(id: String, _ fields: [String: String]) -> SessionRecord? {
        guard let uid = fields["u"] else { return nil }
        return SessionRecord(
            id: id, userID: uid, authTime: fields["at"].flatMap { Int64($0) } ?? 0,
            lastSeen: fields["seen"].flatMap { Int64($0) } ?? 0,
            absoluteExpiry: fields["abs"].flatMap { Int64($0) } ?? 0,
            idleTimeout: fields["idle"].flatMap { Int64($0) } ?? 0,
            remoteAddress: fields["ip"] ?? "",
            userAgent: fields["ua"] ?? "",
            methods: AuthenticationMethods(stored: fields["amr"] ?? ""),
            clients: fields.keys.filter { $0.hasPrefix("g:") }.map { String($0.dropFirst(2)) }.sorted())
    }

    /// The live grant whose current refresh token is `token`, for introspection; `nil` if the
    /// token is rotated, revoked, expired or unknown.
    public func liveGrant(for token: RefreshToken) async throws(StoreError) -> LiveGrant? {
        guard let prefix = StoreSchema.prefix(of: token.sessionID) else { return nil }
        let reply = try await send(RedisCommand("HGETALL", StoreSchema.session(token.sessionID, prefix: prefix)))
        let bytes = hashBytes(reply)
        let grantID = Array(token.grantID.utf8)
        guard let field = bytes.first(where: { $0.key.hasPrefix("g:") && $0.value == grantID })?.key else { return nil }
        let clientID = String(field.dropFirst(2))
        guard let current = bytes["r:" + clientID], ConstantTime.equals(current, token.verifier),
            let session = Self.sessionRecord(id: token.sessionID, hashFields(reply))
        else { return nil }
        return LiveGrant(session: session, clientID: clientID, scope: String(decoding: bytes["sc:" + clientID] ?? [], as: UTF8.self))
    }

    /// Whether an access token is void: its session ended, its grant was revoked after it was
    /// issued, its `jti` was revoked, its user was disabled or has a later watermark, or its
    /// client was removed after it was issued (the client's watermark). A client's own token
    /// has only the last two of these. One round trip.
    public func isRevoked(_ token: AccessTokenFacts) async throws(StoreError) -> Bool {
        let common = [
            RedisCommand("ZSCORE", StoreSchema.revokedTokenIDs, token.tokenID),
            RedisCommand("ZSCORE", StoreSchema.clientWatermarks, token.clientID),
        ]
        func voidedByCommon(_ replies: ArraySlice<RedisValue>) -> Bool {
            let jti = replies[replies.startIndex]
            let client = replies[replies.startIndex + 1]
            if !jti.isNull { return true }
            if let watermark = client.int, token.issuedAt <= watermark { return true }
            return false
        }
        guard let sessionID = token.sessionID else {
            guard token.userID == token.clientID else { return true }
            return voidedByCommon(try await pipeline(common)[...])
        }
        guard Identifiers.isWellFormed(sessionID), let prefix = StoreSchema.prefix(of: sessionID),
            Identifiers.isWellFormed(token.userID), let userPrefix = StoreSchema.prefix(of: token.userID)
        else { return true }
        let replies = try await pipeline([
            RedisCommand("HMGET", StoreSchema.session(sessionID, prefix: prefix), "u", "w:" + token.clientID),
            RedisCommand("HMGET", StoreSchema.user(token.userID, prefix: userPrefix), "dis", "nbf"),
        ] + common)
        guard let session = replies[0].array, session.count == 2, let user = replies[1].array, user.count == 2 else {
            throw .failed(.unexpectedReply("revocation check"))
        }
        guard session[0].string == token.userID else { return true }
        if let revokedAt = session[1].int, token.issuedAt <= revokedAt { return true }
        if user[0].string != "0" { return true }
        if let watermark = user[1].int, token.issuedAt <= watermark { return true }
        return voidedByCommon(replies[2...])
    }

    /// Revokes one access token by its `jti` until `expiresAt` (Unix s; the token's `exp`, or
    /// `nil` when unknown, as from the ops CLI, to keep it for the longest token lifetime).
    /// Returns whether it was newly revoked.
    @discardableResult
    public func revokeTokenID(
        _ tokenID: String, expiresAt: Int64?, actor: String, userID: String = "", sessionID: String = "", clientID: String = ""
    ) async throws(StoreError) -> Bool {
        guard !tokenID.isEmpty, tokenID.utf8.count <= 128 else { throw .invalidArgument("a token id is 1-128 bytes") }
        let until = expiresAt.map { ($0 + Self.clockSkewAllowance) * 1000 } ?? revocationRecordsExpire
        let reply = try await run(
            Scripts.revokeTokenID, keys: [StoreSchema.revokedTokenIDs, StoreSchema.globalEvents],
            arguments: [StoreSchema.globalPrefix, eventsPerStream, tokenID, until, clock(), actor, userID, sessionID, clientID],
            durable: true)
        return reply.int == 1
    }
}
