import HallpassCrypto
public import HallpassRedis

/// A device authorization just started (RFC 8628 section 3.2).
public struct StartedDeviceAuthorization: Sendable, Hashable, CustomStringConvertible {
    /// The device code: 256 bits from OpenSSL's CSPRNG, base32; the store keeps only its hash.
    public var deviceCode: String
    /// The code the user enters at the hub.
    public var userCode: UserCode

    /// Redacted: neither code reaches a log.
    public var description: String { "StartedDeviceAuthorization(redacted)" }
}

/// A device authorization waiting for the user, as the verification page shows it.
public struct PendingDeviceAuthorization: Sendable, Hashable {
    /// The client that asks.
    public var clientID: String
    /// The scope it asks for.
    public var scope: String
    /// When the user code stops working (Unix ms).
    public var expiresAt: Int64
}

/// What an approved device authorization grants: a place in the approving user's session.
public struct ApprovedDeviceAuthorization: Sendable, Hashable {
    /// The hub session of the user who approved (the grant joins it).
    public var sessionID: String
    /// The user.
    public var userID: String
    /// The granted scope.
    public var scope: String
    /// When the user authenticated (Unix s).
    public var authTime: Int64
}

/// The result of ``HallpassStore/pollDeviceAuthorization(deviceCode:clientID:slowDownIncrement:tolerance:actor:)``.
public enum DevicePoll: Sendable, Hashable {
    /// The user approved: the device code is now used up; join the session.
    case approved(ApprovedDeviceAuthorization)
    /// The user has not decided yet.
    case pending
    /// Polled too soon: wait this many seconds from now on.
    case slowDown(interval: Int64)
    /// The user denied.
    case denied
    /// The device code expired.
    case expired
    /// The device code was already exchanged, joining `sessionID` with grant `grantID` (empty
    /// when the exchange has not recorded it yet).
    case used(sessionID: String, grantID: String)
    /// Unknown, or issued to another client.
    case invalid
}

/// The user's answer on the verification page.
public enum DeviceDecision: Sendable, Hashable {
    /// Grant the device a place in this session.
    case approve(BrowserSession)
    /// Refuse, as `user`.
    case deny(userID: String, sessionID: String)
}

extension HallpassStore {
    /// How long a device authorization record outlives its device code (ms), so a device that
    /// polls after the expiry hears `expired_token` rather than `invalid_grant`.
    static let deviceRecordGrace: Int64 = 600_000

    static func deviceCodeDigest(_ deviceCode: String) -> String? {
        guard deviceCode.utf8.count == 52, let bytes = Base32.decode(deviceCode), bytes.count == 32 else { return nil }
        return hexString(Digest.sha256(Array("hallpass device code v1|".utf8) + Array(deviceCode.utf8)))
    }

    /// Starts a device authorization for `clientID`: a device code and a user code, both living
    /// `lifetime` milliseconds, the device told to poll every `interval` seconds.
    public func startDeviceAuthorization(
        clientID: String, scope: String, lifetime: Int64, interval: Int64, actor: String
    ) async throws(StoreError) -> StartedDeviceAuthorization {
        guard lifetime > 0, interval > 0 else { throw .invalidArgument("lifetime and interval must be positive") }
        let now = clock()
        // A user code names one live authorization; on the rare collision, draw another.
        for _ in 0..<8 {
            let deviceCode: String
            let userCode: UserCode
            do {
                deviceCode = Base32.encode(try SecureRandom.bytes(count: 32))
                userCode = try UserCode.generate()
            } catch {
                throw .failed(.unexpectedReply("\(error)"))
            }
            guard let digest = Self.deviceCodeDigest(deviceCode) else { throw .failed(.unexpectedReply("device code shape")) }
            let reply = try await run(
                Scripts.startDeviceAuthorization,
                keys: [StoreSchema.deviceAuthorization(digest), StoreSchema.userCode(userCode.digest), StoreSchema.globalEvents],
                arguments: [
                    StoreSchema.globalPrefix, eventsPerStream, lifetime, lifetime + Self.deviceRecordGrace, digest, clientID, actor,
                    "c", clientID, "sc", scope, "st", "pending", "exp", now + lifetime, "i", interval,
                ])
            if reply.int == 1 { return StartedDeviceAuthorization(deviceCode: deviceCode, userCode: userCode) }
        }
        throw .conflict("no free user code after 8 draws")
    }

    /// The pending, unexpired device authorization `userCode` names, if any.
    public func pendingDeviceAuthorization(_ userCode: UserCode) async throws(StoreError) -> PendingDeviceAuthorization? {
        let reply = try await run(
            Scripts.readDeviceAuthorization, declaring: { () async throws(StoreError) -> [String] in try await self.deviceKeys(userCode) },
            arguments: [StoreSchema.globalPrefix, clock()])
        guard let items = reply.array, items.count == 3, let client = items[0].string, let scope = items[1].string,
            let expiry = items[2].int
        else { return nil }
        return PendingDeviceAuthorization(clientID: client, scope: scope, expiresAt: expiry)
    }

    /// The user code's key and, read from it, the device authorization it names (if any).
    private func deviceKeys(_ userCode: UserCode) async throws(StoreError) -> [String] {
        let key = StoreSchema.userCode(userCode.digest)
        guard let digest = try await send(RedisCommand("GET", key)).string else { return [key] }
        return [key, StoreSchema.deviceAuthorization(digest)]
    }

    /// Records the user's decision on the authorization `userCode` names; the user code is
    /// used up either way. Returns the client it was for, or `nil` if the code names no
    /// pending authorization (unknown, expired, already decided).
    public func decideDeviceAuthorization(_ userCode: UserCode, _ decision: DeviceDecision, actor: String) async throws(StoreError) -> String? {
        let arguments: [any RedisArgument]
        switch decision {
        case .approve(let session):
            arguments = ["approved", session.sessionID, session.userID, session.authTime]
        case .deny(let userID, let sessionID):
            arguments = ["denied", sessionID, userID, 0]
        }
        let reply = try await run(
            Scripts.decideDeviceAuthorization,
            declaring: { () async throws(StoreError) -> [String] in try await self.deviceKeys(userCode) + [StoreSchema.globalEvents] },
            arguments: [StoreSchema.globalPrefix, eventsPerStream] + arguments + [clock(), actor])
        guard let items = reply.array, items.first?.string == "ok", items.count == 2 else { return nil }
        return items[1].string
    }

    /// One poll by `clientID` with `deviceCode`. A poll less than the interval (minus
    /// `tolerance` ms, for clock differences between hubs) after the previous one lengthens the
    /// interval by `slowDownIncrement` seconds. An approved authorization is used up by this
    /// call: the caller joins the session with ``joinSession(sessionID:clientID:scope:actor:codeKey:)``.
    public func pollDeviceAuthorization(
        deviceCode: String, clientID: String, slowDownIncrement: Int64, tolerance: Int64, actor: String
    ) async throws(StoreError) -> DevicePoll {
        guard let digest = Self.deviceCodeDigest(deviceCode) else { return .invalid }
        let reply = try await run(
            Scripts.pollDeviceAuthorization, keys: [StoreSchema.deviceAuthorization(digest), StoreSchema.globalEvents],
            arguments: [StoreSchema.globalPrefix, eventsPerStream, clientID, clock(), slowDownIncrement, tolerance, actor])
        guard let items = reply.array, let status = items.first?.string else { throw .failed(.unexpectedReply("\(reply)")) }
        switch status {
        case "approved":
            guard items.count == 5, let sid = items[1].string, let uid = items[2].string, let scope = items[3].string,
                let authTime = items[4].int
            else { throw .corruptRecord("approved device authorization") }
            return .approved(ApprovedDeviceAuthorization(sessionID: sid, userID: uid, scope: scope, authTime: authTime))
        case "pending": return .pending
        case "slow_down":
            guard items.count == 2, let interval = items[1].int else { throw .failed(.unexpectedReply("slow_down")) }
            return .slowDown(interval: interval)
        case "denied": return .denied
        case "expired": return .expired
        case "used":
            guard items.count == 3, let sid = items[1].string, let grant = items[2].string else { throw .failed(.unexpectedReply("used")) }
            return .used(sessionID: sid, grantID: grant)
        case "invalid": return .invalid
        default: throw .failed(.unexpectedReply("pollDeviceAuthorization: \(status)"))
        }
    }

    /// Records that the exchange of `deviceCode` created grant `grantID`, for
    /// ``revokeReplayedDeviceGrant(sessionID:clientID:grantID:actor:)``. The record is global and
    /// the grant lives in the user's shard, so this is a second, separate write after the join.
    public func bindDeviceGrant(deviceCode: String, grantID: String) async throws(StoreError) {
        guard let digest = Self.deviceCodeDigest(deviceCode) else { return }
        _ = try await run(Scripts.bindDeviceGrant, keys: [StoreSchema.deviceAuthorization(digest)], arguments: [StoreSchema.globalPrefix, grantID])
    }

    /// Revokes `clientID`'s grant `grantID` in `sessionID` (and the access tokens issued under
    /// it), if it is still current: what a replayed device code calls for. The session ends with
    /// its last grant. Returns whether a grant was revoked.
    @discardableResult
    public func revokeReplayedDeviceGrant(sessionID: String, clientID: String, grantID: String, actor: String) async throws(StoreError) -> Bool {
        guard !grantID.isEmpty, Identifiers.isWellFormed(sessionID), let prefix = StoreSchema.prefix(of: sessionID) else { return false }
        let now = clock()
        let reply = try await run(
            Scripts.revokeReplayedDeviceGrant, onSession: sessionID, prefix: prefix,
            arguments: [prefix, eventsPerStream, clientID, grantID, now, revocationRecordsExpire, now / 1000, actor], durable: true)
        return reply.int == 1
    }

    // MARK: Throttling wrong user codes

    /// Reserves one user-code attempt from `address`, or returns how long it must wait (ms).
    /// A reserved attempt counts as wrong until ``releaseUserCodeAttempt(address:)``.
    public func reserveUserCodeAttempt(address: String, limit: Int, window: Int64) async throws(StoreError) -> Int64? {
        let reply = try await run(
            Scripts.reserveAttempt, keys: [Self.userCodeThrottleKey(address)],
            arguments: [StoreSchema.globalPrefix, limit, window * 1000])
        guard let items = reply.array, items.count == 2, let allowed = items[0].int else {
            throw .failed(.unexpectedReply("\(reply)"))
        }
        return allowed == 1 ? nil : max(1, items[1].int ?? 1000)
    }

    /// Takes back a reserved attempt whose code was right.
    public func releaseUserCodeAttempt(address: String) async throws(StoreError) {
        _ = try await run(Scripts.releaseAttempt, keys: [Self.userCodeThrottleKey(address)], arguments: [StoreSchema.globalPrefix])
    }

    static func userCodeThrottleKey(_ address: String) -> String {
        StoreSchema.throttle("uc", hexString(Digest.sha256(Array(address.utf8)).prefix(16)))
    }
}
