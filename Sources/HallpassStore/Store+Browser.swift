public import HallpassCrypto
import HallpassRedis

/// The hub's browser session cookie: `<session id>.<secret>`.
///
/// The secret is 256 bits from OpenSSL's CSPRNG; the session hash keeps only a SHA-256
/// verifier of the whole value (field `hc`), so the cookie lives exactly as long as the
/// session and dies with it, however it ends. The session id names the shard.
public struct BrowserSessionCookie: Sendable, Hashable, CustomStringConvertible {
    /// The session the cookie belongs to.
    public let sessionID: String
    /// The value the browser holds.
    public let encoded: String

    /// A new cookie value for `sessionID`.
    public static func issue(sessionID: String) throws(CryptoError) -> BrowserSessionCookie {
        BrowserSessionCookie(sessionID: sessionID, encoded: sessionID + "." + Base32.encode(try SecureRandom.bytes(count: 32)))
    }

    private init(sessionID: String, encoded: String) {
        self.sessionID = sessionID
        self.encoded = encoded
    }

    /// Parses a presented cookie value; `nil` for anything not shaped like one of ours.
    public init?(parsing text: some StringProtocol) {
        guard text.utf8.count <= 128, let dot = text.firstIndex(of: ".") else { return nil }
        let sid = text[..<dot]
        let secret = text[text.index(after: dot)...]
        guard Identifiers.isWellFormed(sid), let bytes = Base32.decode(secret), bytes.count == 32 else { return nil }
        self.init(sessionID: String(sid), encoded: String(text))
    }

    var verifier: [UInt8] { Digest.sha256(Array("hallpass browser v1|".utf8) + Array(encoded.utf8)) }

    /// Redacted: a cookie never reaches a log.
    public var description: String { "BrowserSessionCookie(sid: \(sessionID), redacted)" }
}

/// A live browser session at the hub.
public struct BrowserSession: Sendable, Hashable {
    /// The session (`sid`).
    public var sessionID: String
    /// The user.
    public var userID: String
    /// When the user authenticated (Unix s).
    public var authTime: Int64
    /// How the user authenticated.
    public var methods: AuthenticationMethods = .password
}

/// The result of ``HallpassStore/startBrowserSession(userID:timeouts:defaultPolicy:actor:remoteAddress:userAgent:)``.
public enum BrowserLoginOutcome: Sendable, Hashable {
    /// A new session and the cookie that names it.
    case started(session: BrowserSession, cookie: BrowserSessionCookie, endedSessions: [String])
    /// Refused: the `deny-new` policy applies and the user has a live session.
    case sessionExists
    /// Refused: the user is disabled.
    case userDisabled
    /// Refused: no such user.
    case unknownUser
}

/// The result of ``HallpassStore/reauthenticateBrowserSession(_:userID:actor:remoteAddress:)``.
public enum ReauthenticationOutcome: Sendable, Hashable {
    /// The same session, authenticated now, and the cookie that names it from now on (the
    /// presented one stops working).
    case reauthenticated(session: BrowserSession, cookie: BrowserSessionCookie)
    /// The cookie names no live session of this user: start a new one instead.
    case noSession
    /// Refused: the user is disabled.
    case userDisabled
}

/// What an authorization code is bound to.
public struct AuthorizationCodeRecord: Sendable, Hashable {
    /// The session the code joins.
    public var sessionID: String
    /// The client it was issued to.
    public var clientID: String
    /// The exact `redirect_uri` of the authorization request.
    public var redirectURI: String
    /// The PKCE S256 challenge, empty when the (confidential) client sent none.
    public var codeChallenge: String
    /// The `nonce` to echo in the ID token, empty when none.
    public var nonce: String
    /// The granted scope.
    public var scope: String
    /// When the user authenticated (Unix s).
    public var authTime: Int64
    /// How the user authenticated, when the code was issued.
    public var methods: AuthenticationMethods

    /// A record.
    public init(
        sessionID: String, clientID: String, redirectURI: String, codeChallenge: String, nonce: String, scope: String,
        authTime: Int64, methods: AuthenticationMethods = .password
    ) {
        self.methods = methods
        self.sessionID = sessionID
        self.clientID = clientID
        self.redirectURI = redirectURI
        self.codeChallenge = codeChallenge
        self.nonce = nonce
        self.scope = scope
        self.authTime = authTime
    }
}

/// The result of ``HallpassStore/consumeAuthorizationCode(_:actor:)``.
public enum CodeRedemption: Sendable, Hashable {
    /// First use: what the code is bound to. The caller checks the bindings, then joins.
    case redeemed(AuthorizationCodeRecord, key: String)
    /// A second use: the grant the first use created was revoked.
    case replayed
    /// Unknown, malformed or expired.
    case invalid
}

/// The result of ``HallpassStore/joinSession(sessionID:clientID:scope:actor:codeKey:)``.
public enum JoinOutcome: Sendable, Hashable {
    /// The client's new grant in the session.
    case joined(RefreshGrant)
    /// The session is over.
    case sessionEnded
    /// The user is disabled (the session was ended).
    case userDisabled
    /// The code was replayed meanwhile: no grant was made.
    case codeReplayed
}

extension HallpassStore {
    /// How long an authorization code lives (ms): RFC 6749 section 4.1.2 recommends at most
    /// ten minutes; Hallpass allows one.
    public static let authorizationCodeLifetime: Int64 = 60_000

    /// Starts a browser session at the hub after the login form's password was verified,
    /// enforcing the single-login policy like ``startSession(userID:clientID:scope:timeouts:defaultPolicy:actor:remoteAddress:userAgent:)``.
    /// The session has no grant yet: each client joins it when it redeems a code.
    public func startBrowserSession(
        userID: String, timeouts: SessionTimeouts, defaultPolicy: SingleLoginPolicy, actor: String, remoteAddress: String,
        userAgent: String = "", methods: AuthenticationMethods = .password
    ) async throws(StoreError) -> BrowserLoginOutcome {
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID) else { return .unknownUser }
        let sessionID: String
        let cookie: BrowserSessionCookie
        do {
            sessionID = try Identifiers.make(inShardOf: userID)
            cookie = try BrowserSessionCookie.issue(sessionID: sessionID)
        } catch {
            throw .failed(.unexpectedReply("\(error)"))
        }
        switch try await runStartSession(
            userID: userID, prefix: prefix, sessionID: sessionID, grant: nil, cookieVerifier: cookie.verifier,
            timeouts: timeouts, defaultPolicy: defaultPolicy, actor: actor, remoteAddress: remoteAddress, userAgent: userAgent,
            methods: methods)
        {
        case .started(_, let ended, let now):
            return .started(
                session: BrowserSession(sessionID: sessionID, userID: userID, authTime: now / 1000, methods: methods), cookie: cookie,
                endedSessions: ended)
        case .sessionExists: return .sessionExists
        case .userDisabled: return .userDisabled
        case .unknownUser: return .unknownUser
        }
    }

    /// Re-authenticates the browser session `cookie` names, after the login form's password was
    /// verified for `userID`, when that session is live and belongs to `userID`: its auth
    /// time becomes now and its cookie is replaced (a cookie from before the password was
    /// entered again proves nothing more than it did). The session, its clients and their
    /// grants stay, and no single-login policy applies: nothing starts or ends. A cookie of
    /// another user, or of an ended session, gives ``ReauthenticationOutcome/noSession``.
    public func reauthenticateBrowserSession(
        _ cookie: BrowserSessionCookie, userID: String, actor: String, remoteAddress: String,
        methods: AuthenticationMethods = .password
    ) async throws(StoreError) -> ReauthenticationOutcome {
        // A session lives in its user's shard, so a cookie from another shard cannot be theirs.
        guard Identifiers.isWellFormed(userID), let prefix = StoreSchema.prefix(of: userID),
            StoreSchema.prefix(of: cookie.sessionID) == prefix
        else { return .noSession }
        let fresh: BrowserSessionCookie
        do { fresh = try BrowserSessionCookie.issue(sessionID: cookie.sessionID) } catch { throw .failed(.unexpectedReply("\(error)")) }
        let reply = try await run(
            Scripts.reauthenticate, keys: StoreSchema.sessionKeys(cookie.sessionID, userID: userID, prefix: prefix),
            arguments: [prefix, eventsPerStream, userID, cookie.verifier, fresh.verifier, clock(), actor, remoteAddress, methods.stored])
        guard let items = reply.array, let status = items.first?.string else { throw .failed(.unexpectedReply("\(reply)")) }
        switch status {
        case "ok":
            guard items.count == 2, let authTime = items[1].int else { throw .failed(.unexpectedReply("reauthenticate: \(items.count) fields")) }
            return .reauthenticated(
                session: BrowserSession(sessionID: cookie.sessionID, userID: userID, authTime: authTime, methods: methods), cookie: fresh)
        case "gone": return .noSession
        case "disabled": return .userDisabled
        default: throw .failed(.unexpectedReply("reauthenticate: \(status)"))
        }
    }

    /// The live session a hub cookie names, if the cookie is its current one (compared in
    /// constant time). A session that ended, any way, makes its cookie dead.
    public func browserSession(_ cookie: BrowserSessionCookie) async throws(StoreError) -> BrowserSession? {
        guard let prefix = StoreSchema.prefix(of: cookie.sessionID) else { return nil }
        let reply = try await send(RedisCommand("HMGET", StoreSchema.session(cookie.sessionID, prefix: prefix), "u", "at", "hc", "amr"))
        guard let items = reply.array, items.count == 4, let uid = items[0].string, let stored = items[2].bytes,
            ConstantTime.equals(stored, cookie.verifier)
        else { return nil }
        return BrowserSession(
            sessionID: cookie.sessionID, userID: uid, authTime: items[1].int ?? 0,
            methods: AuthenticationMethods(stored: items[3].string ?? ""))
    }

    static func codeKey(_ code: String) -> String? {
        guard code.utf8.count <= 128, let dot = code.firstIndex(of: "."), let prefix = StoreSchema.prefix(of: code[..<dot]),
            Identifiers.isWellFormed(code[..<dot])
        else { return nil }
        return StoreSchema.authorizationCode(hexString(Digest.sha256(Array("hallpass code v1|".utf8) + Array(code.utf8))), prefix: prefix)
    }

    /// Issues an authorization code bound to `record`: `<sid>.<256 random bits>`, stored only
    /// as a hash, living ``authorizationCodeLifetime``. `nil` if the session already ended.
    public func issueAuthorizationCode(_ record: AuthorizationCodeRecord) async throws(StoreError) -> String? {
        guard let prefix = StoreSchema.prefix(of: record.sessionID) else { return nil }
        let code: String
        do { code = record.sessionID + "." + Base32.encode(try SecureRandom.bytes(count: 32)) } catch {
            throw .failed(.unexpectedReply("\(error)"))
        }
        guard let key = Self.codeKey(code) else { return nil }
        let reply = try await run(
            Scripts.storeAuthorizationCode, keys: [key, StoreSchema.session(record.sessionID, prefix: prefix)],
            arguments: [
                prefix, Self.authorizationCodeLifetime, "c", record.clientID, "r", record.redirectURI, "pc", record.codeChallenge,
                "n", record.nonce, "sc", record.scope, "at", record.authTime, "am", record.methods.stored,
            ])
        return reply.int == 1 ? code : nil
    }

    /// Redeems `code` once (atomically). A second redemption revokes the grant the first one
    /// created and answers ``CodeRedemption/replayed``.
    public func consumeAuthorizationCode(_ code: String, actor: String) async throws(StoreError) -> CodeRedemption {
        guard let key = Self.codeKey(code), let dot = code.firstIndex(of: "."), let prefix = StoreSchema.prefix(of: code[..<dot]) else {
            return .invalid
        }
        let sessionID = String(code[..<dot])
        let now = clock()
        let reply = try await run(
            Scripts.consumeAuthorizationCode, onSession: sessionID, prefix: prefix, leading: [key],
            arguments: [prefix, eventsPerStream, now, revocationRecordsExpire, now / 1000, actor])
        guard let items = reply.array, let status = items.first?.string else { throw .failed(.unexpectedReply("\(reply)")) }
        switch status {
        case "ok":
            guard items.count >= 7, let client = items[1].string, let redirect = items[2].string, let scope = items[5].string,
                let authTime = items[6].int
            else { throw .corruptRecord("authorization code of session \(sessionID)") }
            return .redeemed(
                AuthorizationCodeRecord(
                    sessionID: sessionID, clientID: client, redirectURI: redirect, codeChallenge: items[3].string ?? "",
                    nonce: items[4].string ?? "", scope: scope, authTime: authTime,
                    methods: AuthenticationMethods(stored: items.count > 7 ? items[7].string ?? "" : "")),
                key: key)
        case "replayed": return .replayed
        default: return .invalid
        }
    }

    /// Adds `clientID`'s grant (a new refresh token) to the live session `sessionID`: single
    /// sign-on. With `codeKey` (from ``consumeAuthorizationCode(_:actor:)``), refuses if the
    /// code was replayed meanwhile and records the grant so a later replay revokes it.
    public func joinSession(
        sessionID: String, clientID: String, scope: String, actor: String, codeKey: String? = nil
    ) async throws(StoreError) -> JoinOutcome {
        guard Identifiers.isWellFormed(sessionID), let prefix = StoreSchema.prefix(of: sessionID) else { return .sessionEnded }
        let token: RefreshToken
        do { token = try RefreshToken.issue(sessionID: sessionID) } catch { throw .failed(.unexpectedReply("\(error)")) }
        let codeDigest: String
        if let codeKey {
            // The script names the code by its digest: `<prefix>ac:<digest>`.
            guard codeKey.hasPrefix(prefix + "ac:") else { return .sessionEnded }
            codeDigest = String(codeKey.dropFirst(prefix.count + 3))
        } else {
            codeDigest = ""
        }
        let reply = try await run(
            Scripts.joinSession, onSession: sessionID, prefix: prefix, trailing: codeKey.map { [$0] } ?? [],
            arguments: [
                prefix, eventsPerStream, clientID, token.grantID, token.verifier, scope, clock(), revocationRecordsExpire, actor,
                codeDigest,
            ])
        guard let items = reply.array, let status = items.first?.string else { throw .failed(.unexpectedReply("\(reply)")) }
        switch status {
        case "ok":
            guard items.count >= 4, let uid = items[1].string else { throw .failed(.unexpectedReply("joinSession")) }
            return .joined(RefreshGrant(
                refreshToken: token, userID: uid, authTime: items[2].int ?? 0, scope: scope, userNotBefore: items[3].int ?? 0,
                methods: AuthenticationMethods(stored: items.count > 4 ? items[4].string ?? "" : ""),
                username: items.count > 5 ? items[5].string : nil))
        case "disabled": return .userDisabled
        case "replayed": return .codeReplayed
        default: return .sessionEnded
        }
    }
}
