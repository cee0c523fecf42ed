public import HallpassCrypto
import HallpassRedis

/// Whether users must have a second factor to sign in: for everyone (`hallpass policy set mfa`)
/// or for one user (`--user`), the user's own setting winning.
public enum SecondFactorPolicy: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A user without a second factor is sent to set one up before any code or token is issued.
    case required
    /// Users choose; those who set one up are always asked for it.
    case optional

    public var description: String { rawValue }
}

/// A user's second factor as stored: the sealed TOTP secret, the last time step a code was
/// accepted for, and how many recovery codes are left.
public struct SecondFactorRecord: Sendable, Hashable, CustomStringConvertible {
    /// The secret in its stored form (see ``SecondFactorSecret``); opaque until opened.
    public var storedSecret: String
    /// The last accepted TOTP time step; a code of this step or an earlier one is a replay.
    public var lastUsedStep: Int64
    /// Recovery codes not used yet.
    public var recoveryCodesLeft: Int

    /// Redacted: the secret never reaches a log.
    public var description: String { "SecondFactorRecord(totp, step \(lastUsedStep), \(recoveryCodesLeft) recovery codes)" }
}

/// How a TOTP secret is kept at rest: sealed with AES-256-GCM under the key-encryption key,
/// bound to its user (a sealed secret copied to another user does not open), or, when the
/// deployment has no key-encryption key, as base32 behind a marker, like the signing keys.
public enum SecondFactorSecret {
    /// Why a stored secret cannot be used.
    public enum Problem: Error, Sendable, Equatable {
        /// Sealed, and no key-encryption key is configured.
        case needsKeyEncryptionKey
        /// Sealed under another key, altered, or bound to another user.
        case cannotOpen
        /// Not in any stored form.
        case malformed
    }

    /// The stored form of `secret` for `userID`.
    public static func seal(_ secret: [UInt8], userID: String, kek: SymmetricKey?) throws(CryptoError) -> String {
        guard let kek else { return "plain:" + Base32.encode(secret) }
        return "sealed:" + UnpaddedBase64.standard.encode(try AES256GCM.seal(secret, using: kek, authenticating: aad(userID)))
    }

    /// The secret of a stored form.
    public static func open(_ stored: String, userID: String, kek: SymmetricKey?) throws(Problem) -> [UInt8] {
        if stored.hasPrefix("plain:") {
            guard let bytes = Base32.decode(stored.dropFirst(6)) else { throw .malformed }
            return bytes
        }
        guard stored.hasPrefix("sealed:"), let sealed = try? UnpaddedBase64.standard.decode(stored.dropFirst(7)) else { throw .malformed }
        guard let kek else { throw .needsKeyEncryptionKey }
        do { return try AES256GCM.open(sealed, using: kek, authenticating: aad(userID)) } catch { throw .cannotOpen }
    }

    private static func aad(_ userID: String) -> [UInt8] { Array("hallpass totp v1|".utf8) + Array(userID.utf8) }
}

/// The result of ``HallpassStore/useTimeStep(userID:storedSecret:step:)``.
public enum TimeStepUse: Sendable, Hashable {
    /// First use of the step: the code counts.
    case accepted
    /// A code of this step (or a later one) was already accepted.
    case replayed
    /// The user's second factor changed since it was read (reset, replaced).
    case changed
}

/// A sign-in whose password was right (or a live session stepping up), waiting for its second
/// factor or for the user to set one up: the user, and where the sign-in goes on to. A step up
/// needs no session id here: completing it re-authenticates the session the browser's cookie
/// names, when it is this user's.
public struct PendingSignIn: Sendable, Hashable {
    /// The user whose password was verified (or whose session is stepping up).
    public var userID: String
    /// What to do once the second factor is done, as the hub encoded it.
    public var continuation: String

    /// A pending sign-in.
    public init(userID: String, continuation: String) {
        self.userID = userID
        self.continuation = continuation
    }
}

extension HallpassStore {
    /// How long a secret being set up waits for its confirming code (ms).
    public static let enrollmentLifetime: Int64 = 15 * 60_000
    /// How long a pending sign-in waits for its second factor (ms).
    public static let pendingSignInLifetime: Int64 = 10 * 60_000

    // MARK: Policy

    /// The second-factor policy set for everyone; `nil` when none is set (optional).
    public func globalSecondFactorPolicy() async throws(StoreError) -> SecondFactorPolicy? {
        (try await send(RedisCommand("HGET", StoreSchema.policy, "mfa"))).string.flatMap(SecondFactorPolicy.init(rawValue:))
    }

    /// Sets the global second-factor policy.
    public func setGlobalSecondFactorPolicy(_ policy: SecondFactorPolicy, actor: String) async throws(StoreError) {
        _ = try await run(
            Scripts.writeGlobal, keys: [StoreSchema.policy, StoreSchema.globalEvents],
            arguments: [StoreSchema.globalPrefix, eventsPerStream, "policy_changed", actor, "mfa=\(policy.rawValue)", "set", "mfa", policy.rawValue],
            durable: true)
    }

    /// Sets or clears (`nil`) a user's own second-factor policy.
    public func setSecondFactorPolicy(_ policy: SecondFactorPolicy?, forUser userID: String, actor: String) async throws(StoreError) {
        try await updateUser(
            userID, event: "policy_changed", actor: actor, detail: "mfa=\(policy?.rawValue ?? "default")",
            fields: ["mfap", policy?.rawValue ?? ""], durable: true)
    }

    // MARK: The second factor

    /// The user's second factor, if they have one.
    public func secondFactor(ofUser userID: String) async throws(StoreError) -> SecondFactorRecord? {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { return nil }
        let replies = try await pipeline([
            RedisCommand("HMGET", StoreSchema.user(userID, prefix: prefix), "tf", "tfs"),
            RedisCommand("SCARD", StoreSchema.recoveryCodes(userID, prefix: prefix)),
        ])
        guard let fields = replies.first?.array, fields.count == 2, let secret = fields[0].string else { return nil }
        return SecondFactorRecord(
            storedSecret: secret, lastUsedStep: fields[1].int ?? 0, recoveryCodesLeft: Int(replies.last?.int ?? 0))
    }

    /// Keeps `storedSecret` as the secret being set up, replacing any earlier one, until its
    /// first code confirms it (``completeEnrollment(userID:storedSecret:step:recoveryCodeHashes:actor:)``).
    public func beginEnrollment(userID: String, storedSecret: String) async throws(StoreError) {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { throw .notFound("no user \(userID)") }
        _ = try await send(RedisCommand("SET", StoreSchema.pendingEnrollment(userID, prefix: prefix), storedSecret, "PX", Self.enrollmentLifetime))
    }

    /// The secret being set up, if the set-up has not expired.
    public func pendingEnrollment(userID: String) async throws(StoreError) -> String? {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { return nil }
        return try await send(RedisCommand("GET", StoreSchema.pendingEnrollment(userID, prefix: prefix))).string
    }

    /// Makes the secret being set up the user's second factor, confirmed by a code of time
    /// step `step` (which is then used up), with fresh recovery codes (their hashes). `false`
    /// if the set-up expired or another one replaced it.
    public func completeEnrollment(
        userID: String, storedSecret: String, step: Int64, recoveryCodeHashes: [String], actor: String
    ) async throws(StoreError) -> Bool {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { return false }
        let reply = try await run(
            Scripts.enrollSecondFactor,
            keys: [
                StoreSchema.user(userID, prefix: prefix), StoreSchema.pendingEnrollment(userID, prefix: prefix),
                StoreSchema.recoveryCodes(userID, prefix: prefix), StoreSchema.events(prefix: prefix),
            ],
            arguments: [prefix, eventsPerStream, userID, actor, storedSecret, step] + recoveryCodeHashes)
        return reply.int == 1
    }

    /// Accepts a TOTP time step of the user's second factor once.
    public func useTimeStep(userID: String, storedSecret: String, step: Int64) async throws(StoreError) -> TimeStepUse {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { return .changed }
        let reply = try await run(
            Scripts.useTimeStep, keys: [StoreSchema.user(userID, prefix: prefix)], arguments: [prefix, storedSecret, step])
        switch reply.string {
        case "ok": return .accepted
        case "replayed": return .replayed
        default: return .changed
        }
    }

    /// Uses up the recovery code whose hash is `hash`; returns how many are left, or `nil` if
    /// it is not one of the user's codes.
    public func useRecoveryCode(userID: String, hash: String, actor: String) async throws(StoreError) -> Int? {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { return nil }
        let reply = try await run(
            Scripts.useRecoveryCode,
            keys: [
                StoreSchema.recoveryCodes(userID, prefix: prefix), StoreSchema.user(userID, prefix: prefix),
                StoreSchema.events(prefix: prefix),
            ],
            arguments: [prefix, eventsPerStream, userID, actor, hash])
        guard let left = reply.int, left >= 0 else { return nil }
        return Int(left)
    }

    /// Replaces the user's recovery codes; `false` if the user has no second factor.
    public func replaceRecoveryCodes(userID: String, hashes: [String], actor: String) async throws(StoreError) -> Bool {
        guard !hashes.isEmpty, Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { return false }
        let reply = try await run(
            Scripts.replaceRecoveryCodes,
            keys: [
                StoreSchema.user(userID, prefix: prefix), StoreSchema.recoveryCodes(userID, prefix: prefix),
                StoreSchema.events(prefix: prefix),
            ],
            arguments: [prefix, eventsPerStream, userID, actor] + hashes)
        return reply.int == 1
    }

    /// Removes the user's second factor and recovery codes, logging `event` (`mfa_disabled`
    /// when the user turns it off, `mfa_reset` when an administrator removes it). Returns
    /// whether there was one.
    ///
    /// - Throws: ``StoreError/notFound(_:)`` if there is no such user.
    @discardableResult
    public func removeSecondFactor(userID: String, event: String, actor: String) async throws(StoreError) -> Bool {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { throw .notFound("no user \(userID)") }
        let reply = try await run(
            Scripts.removeSecondFactor,
            keys: [
                StoreSchema.user(userID, prefix: prefix), StoreSchema.pendingEnrollment(userID, prefix: prefix),
                StoreSchema.recoveryCodes(userID, prefix: prefix), StoreSchema.events(prefix: prefix),
            ],
            arguments: [prefix, eventsPerStream, userID, actor, event])
        guard let result = reply.int, result >= 0 else { throw .notFound("no user \(userID)") }
        return result == 1
    }

    // MARK: Pending sign-ins

    /// Records a sign-in waiting for its second factor and returns the token that names it:
    /// `<user id>.<256 random bits>` (the id names the shard), stored only as a hash, living
    /// ``pendingSignInLifetime``.
    public func startPendingSignIn(_ pending: PendingSignIn) async throws(StoreError) -> String {
        guard Identifiers.isWellFormed(pending.userID), let prefix = StoreSchema.prefix(of: pending.userID) else {
            throw .notFound("no user \(pending.userID)")
        }
        let token: String
        do { token = pending.userID + "." + Base32.encode(try SecureRandom.bytes(count: 32)) } catch {
            throw .failed(.unexpectedReply("\(error)"))
        }
        _ = try await run(
            Scripts.startPendingSignIn, keys: [Self.pendingSignInKey(token, prefix: prefix)],
            arguments: [prefix, Self.pendingSignInLifetime, "u", pending.userID, "c", pending.continuation])
        return token
    }

    /// The pending sign-in `token` names, if it has not expired or finished.
    public func pendingSignIn(_ token: String) async throws(StoreError) -> PendingSignIn? {
        guard let (key, userID) = Self.pendingSignInKey(token) else { return nil }
        let reply = try await send(RedisCommand("HMGET", key, "u", "c"))
        guard let items = reply.array, items.count == 2, items[0].string == userID, let continuation = items[1].string else { return nil }
        return PendingSignIn(userID: userID, continuation: continuation)
    }

    /// Ends a pending sign-in; `true` for the one caller that ended it, so that two
    /// submissions of one code cannot both sign in.
    public func finishPendingSignIn(_ token: String) async throws(StoreError) -> Bool {
        guard let (key, _) = Self.pendingSignInKey(token) else { return false }
        return try await send(RedisCommand("DEL", key)).int == 1
    }

    static func pendingSignInKey(_ token: String) -> (String, String)? {
        guard token.utf8.count <= 128, let dot = token.firstIndex(of: ".") else { return nil }
        let userID = token[..<dot]
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { return nil }
        return (pendingSignInKey(token, prefix: prefix), String(userID))
    }

    static func pendingSignInKey(_ token: String, prefix: String) -> String {
        StoreSchema.pendingSignIn(hexString(Digest.sha256(Array("hallpass pending sign-in v1|".utf8) + Array(token.utf8))), prefix: prefix)
    }
}
