import HallpassRedis

extension HallpassStore {
    /// Usernames are matched without regard to ASCII case.
    public static func normalizedUsername(_ username: some StringProtocol) -> String {
        String(username).lowercased()
    }

    /// Whether `username` may name a user: 1–64 characters from `A–Z a–z 0–9 . _ @ + -`,
    /// not starting with `-`.
    public static func isValidUsername(_ username: some StringProtocol) -> Bool {
        let utf8 = username.utf8
        guard (1...64).contains(utf8.count), utf8.first != UInt8(ascii: "-") else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "@"),
                UInt8(ascii: "+"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }

    /// Creates a user with an Argon2id PHC `passwordHash`. `emailVerified` says an
    /// administrator vouched for `email` (see ``UserRecord/emailVerified``).
    ///
    /// The username index and the user record live in different hash slots, so this is two
    /// steps: claim the name (`HSETNX`), then write the record with its event. A name whose
    /// record is missing (a crash between the steps) is claimed again by the next attempt.
    ///
    /// - Throws: ``StoreError/invalidArgument(_:)`` for a bad username,
    ///   ``StoreError/conflict(_:)`` if the name is taken.
    public func createUser(
        username: String, passwordHash: String, name: String = "", email: String = "", emailVerified: Bool = false,
        actor: String
    ) async throws(StoreError) -> UserRecord {
        guard Self.isValidUsername(username) else {
            throw .invalidArgument("a username is 1-64 characters of A-Z a-z 0-9 . _ @ + - and does not start with -")
        }
        let key = Self.normalizedUsername(username)
        let uid: String
        do { uid = try Identifiers.make() } catch { throw .failed(.unexpectedReply("\(error)")) }
        let claimed = try await send(RedisCommand("HSETNX", StoreSchema.usernames, key, uid))
        if claimed.int != 1 {
            guard let existing = try await send(RedisCommand("HGET", StoreSchema.usernames, key)).string,
                let prefix = StoreSchema.prefix(of: existing)
            else { throw .corruptRecord("username index entry for \(key)") }
            let exists = try await send(RedisCommand("EXISTS", StoreSchema.user(existing, prefix: prefix)))
            guard exists.int == 0 else { throw .conflict("user \(username) exists") }
            // A claim left behind by an interrupted create: take it over, unless someone else
            // took it over first.
            let replaced = try await run(
                RedisScript("if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end return 0"),
                keys: [StoreSchema.usernames], arguments: [key, existing, uid])
            guard replaced.int == 1 else { throw .conflict("user \(username) exists") }
        }
        guard let prefix = StoreSchema.prefix(of: uid) else { throw .corruptRecord("generated id \(uid)") }
        let now = clock() / 1000
        _ = try await run(
            Scripts.createUser, keys: [StoreSchema.user(uid, prefix: prefix), StoreSchema.events(prefix: prefix)],
            arguments: [prefix, eventsPerStream, uid, username, name, email, passwordHash, now, actor, emailVerified ? 1 : 0])
        return UserRecord(
            id: uid, username: username, name: name, email: email, passwordHash: passwordHash,
            isDisabled: false, singleLoginPolicy: nil, notBefore: 0, createdAt: now, emailVerified: emailVerified)
    }

    /// The id of the user called `username`, if any.
    public func userID(forUsername username: some StringProtocol) async throws(StoreError) -> String? {
        guard username.utf8.count <= 256 else { return nil }
        return try await send(RedisCommand("HGET", StoreSchema.usernames, Self.normalizedUsername(username))).string
    }

    /// The user with id `id`, if any.
    public func user(id: String) async throws(StoreError) -> UserRecord? {
        guard Identifiers.isWellFormed(id), let prefix = StoreSchema.prefix(of: id) else { return nil }
        let fields = hashFields(try await send(RedisCommand("HGETALL", StoreSchema.user(id, prefix: prefix))))
        return Self.userRecord(id: id, fields)
    }

    /// The user called `username`, if any.
    public func user(named username: some StringProtocol) async throws(StoreError) -> UserRecord? {
        guard let id = try await userID(forUsername: username) else { return nil }
        return try await user(id: id)
    }

    /// Every user, ordered by username.
    public func users() async throws(StoreError) -> [UserRecord] {
        let index = hashFields(try await send(RedisCommand("HGETALL", StoreSchema.usernames)))
        let ids = index.values.filter { Identifiers.isWellFormed($0) && StoreSchema.shard(of: $0) != nil }.sorted()
        guard !ids.isEmpty else { return [] }
        let replies = try await pipeline(ids.compactMap { id in
            StoreSchema.prefix(of: id).map { RedisCommand("HGETALL", StoreSchema.user(id, prefix: $0)) }
        })
        return zip(ids, replies).compactMap { Self.userRecord(id: $0, hashFields($1)) }
            .sorted { $0.username.lowercased() < $1.username.lowercased() }
    }

    static func userRecord(id: String, _ fields: [String: String]) -> UserRecord? {
        guard let username = fields["n"], let phc = fields["phc"] else { return nil }
        return UserRecord(
            id: id, username: username, name: fields["name"] ?? "", email: fields["email"] ?? "",
            passwordHash: phc, isDisabled: fields["dis"] == "1",
            singleLoginPolicy: fields["pol"].flatMap(SingleLoginPolicy.init(rawValue:)),
            notBefore: fields["nbf"].flatMap { Int64($0) } ?? 0,
            createdAt: fields["ct"].flatMap { Int64($0) } ?? 0, emailVerified: fields["ev"] == "1",
            hasSecondFactor: !(fields["tf"] ?? "").isEmpty,
            secondFactorPolicy: fields["mfap"].flatMap(SecondFactorPolicy.init(rawValue:)))
    }

    /// Replaces a user's password hash. Live sessions go on (the user changed the password,
    /// not lost it); use ``endSessions(ofUser:reason:actor:revokeIssuedTokens:)`` to end them.
    public func setPasswordHash(userID: String, passwordHash: String, actor: String) async throws(StoreError) {
        try await updateUser(userID, event: "password_changed", actor: actor, detail: "", fields: ["phc", passwordHash], durable: true)
    }

    /// Sets or clears (`nil`) a user's own single-login policy.
    public func setSingleLoginPolicy(_ policy: SingleLoginPolicy?, forUser userID: String, actor: String) async throws(StoreError) {
        try await updateUser(
            userID, event: "policy_changed", actor: actor, detail: "single-login=\(policy?.rawValue ?? "default")",
            fields: ["pol", policy?.rawValue ?? ""], durable: true)
    }

    func updateUser(
        _ userID: String, event: String, actor: String, detail: String, fields: [String], durable: Bool = false
    ) async throws(StoreError) {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else {
            throw .notFound("no user \(userID)")
        }
        let arguments: [any RedisArgument] = [prefix, eventsPerStream, userID, event, actor, detail] + fields
        let updated = try await run(
            Scripts.updateUser, keys: [StoreSchema.user(userID, prefix: prefix), StoreSchema.events(prefix: prefix)], arguments: arguments,
            durable: durable)
        guard updated.int == 1 else { throw .notFound("no user \(userID)") }
    }

    /// Disables a user: refuses their logins and refreshes and ends their sessions at once,
    /// voiding every token issued so far. Returns how many sessions ended.
    @discardableResult
    public func disableUser(_ userID: String, actor: String) async throws(StoreError) -> Int {
        try await endUserSessions(userID, reason: "user_disabled", actor: actor, watermark: true, disable: "1").count
    }

    /// Lets a disabled user log in again.
    public func enableUser(_ userID: String, actor: String) async throws(StoreError) {
        _ = try await endUserSessions(userID, reason: "", actor: actor, watermark: false, disable: "0")
    }

    /// Ends every session of a user (a forced logout). With `revokeIssuedTokens`, also raises
    /// the user's "not before" watermark so any token issued until now is void even if its
    /// session was not recorded. Returns how many sessions ended.
    @discardableResult
    public func endSessions(ofUser userID: String, reason: String, actor: String, revokeIssuedTokens: Bool = false) async throws(StoreError) -> Int {
        try await endUserSessions(userID, reason: reason, actor: actor, watermark: revokeIssuedTokens, disable: "").count
    }

    /// Like ``endSessions(ofUser:reason:actor:revokeIssuedTokens:)``, but returns the ids of
    /// the sessions that ended, e.g. to follow their back-channel logouts with
    /// ``logoutDeliveries(sessionIDs:)``.
    public func endSessionsReturningIDs(
        ofUser userID: String, reason: String, actor: String, revokeIssuedTokens: Bool = false
    ) async throws(StoreError) -> [String] {
        try await endUserSessions(userID, reason: reason, actor: actor, watermark: revokeIssuedTokens, disable: "")
    }

    /// Like ``disableUser(_:actor:)``, but returns the ids of the sessions that ended.
    public func disableUserReturningSessionIDs(_ userID: String, actor: String) async throws(StoreError) -> [String] {
        try await endUserSessions(userID, reason: "user_disabled", actor: actor, watermark: true, disable: "1")
    }

    func endUserSessions(_ userID: String, reason: String, actor: String, watermark: Bool, disable: String) async throws(StoreError) -> [String] {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else {
            throw .notFound("no user \(userID)")
        }
        let now = clock()
        let retention = (Self.maximumAccessTokenLifetime + Self.clockSkewAllowance) * 1000
        let index = StoreSchema.userSessions(userID, prefix: prefix)
        let named = [StoreSchema.user(userID, prefix: prefix), index, StoreSchema.notBefore(prefix: prefix)]
            + StoreSchema.shardKeys(prefix: prefix)
        let reply = try await run(
            Scripts.endUserSessions,
            declaring: { () async throws(StoreError) -> [String] in
                let sessions = try await self.send(RedisCommand("ZRANGE", index, 0, -1)).array?.compactMap(\.string) ?? []
                return named + StoreSchema.sessionsAndLogoutStatus(sessions, prefix: prefix)
            },
            arguments: [
                prefix, eventsPerStream, userID, now, revocationRecordsExpire, reason, actor,
                watermark ? now / 1000 : 0, disable, (now - retention) / 1000,
            ], durable: true)
        guard let items = reply.array, let count = items.first?.int else { throw .failed(.unexpectedReply("\(reply)")) }
        guard count >= 0 else { throw .notFound("no user \(userID)") }
        return items.dropFirst().compactMap(\.string)
    }
}
