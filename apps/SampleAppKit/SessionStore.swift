public import Hallpass
import HallpassCrypto
import HallpassJOSE

/// One signed-in browser at this app. The tokens never leave the server: the browser holds only
/// the random ``id`` in an HttpOnly cookie.
public struct AppSession: Sendable {
    /// The cookie value: 256 random bits, base64url.
    public let id: String
    /// The user's stable id (`sub`).
    public let subject: String
    /// The username (`preferred_username`), when the ID token carried it.
    public let username: String?
    /// The display name, when the ID token carried it.
    public let name: String?
    /// The hub session (`sid`) this login belongs to.
    public let hubSessionID: String?
    /// The current access token.
    public var accessToken: String
    /// The current refresh token.
    public var refreshToken: String?
    /// The ID token, for `id_token_hint` at sign-out.
    public let idToken: String?
    /// When the access token expires (Unix s).
    public var accessTokenExpiresAt: Double
    /// How many times the access token was refreshed.
    public var refreshes: Int
    /// The value the sign-out form must echo (CSRF).
    public let csrfToken: String
}

/// A login under way: what the callback must check.
public struct PendingLogin: Sendable {
    /// The `state` sent to the hub.
    public let state: String
    /// The `nonce` the ID token must echo.
    public let nonce: String
    /// The PKCE `code_verifier`.
    public let codeVerifier: String
    /// When it started (monotonic).
    public let startedAt: ContinuousClock.Instant
    /// Where the browser goes after the callback: a path of this app, fixed by the route that
    /// started the login and kept here, never taken from the URL (no open redirect).
    public var returnPath: String = "/"
    /// For a step-up login (a second factor asked of the hub with `acr_values`), what the new
    /// access token must meet; the callback shows a page instead of returning to
    /// ``returnPath`` when it does not, so a hub that ignores the request cannot cause a loop.
    public var requirement: AuthenticationRequirement? = nil
}

/// The app's sessions and logins under way, in memory.
public actor SessionStore {
    private var sessions: [String: AppSession] = [:]
    private var byHubSession: [String: Set<String>] = [:]
    private var bySubject: [String: Set<String>] = [:]
    private var pending: [String: PendingLogin] = [:]
    /// Usernames learned from ID tokens, by `sub`, for `/api/me` (access tokens carry no username).
    private var usernames: [String: String] = [:]
    /// Sessions a back-channel logout ended, so the next page load can say so (bounded).
    private var ended: Set<String> = []

    /// An empty store.
    public init() {}

    /// A fresh random value: 256 bits, base64url.
    public static func randomValue() throws -> String {
        Base64URL.encode(try SecureRandom.bytes(count: 32))
    }

    /// Stores a new session.
    public func insert(_ session: AppSession) {
        sessions[session.id] = session
        if let sid = session.hubSessionID { byHubSession[sid, default: []].insert(session.id) }
        bySubject[session.subject, default: []].insert(session.id)
        if let username = session.username { usernames[session.subject] = username }
    }

    /// The session with this cookie value.
    public func session(_ id: String) -> AppSession? { sessions[id] }

    /// Replaces a session's tokens after a refresh; false if the session is gone meanwhile.
    public func update(_ session: AppSession) -> Bool {
        guard sessions[session.id] != nil else { return false }
        sessions[session.id] = session
        return true
    }

    /// Ends one session.
    public func remove(_ id: String) {
        guard let session = sessions.removeValue(forKey: id) else { return }
        if let sid = session.hubSessionID {
            byHubSession[sid]?.remove(id)
            if byHubSession[sid]?.isEmpty == true { byHubSession[sid] = nil }
        }
        bySubject[session.subject]?.remove(id)
        if bySubject[session.subject]?.isEmpty == true { bySubject[session.subject] = nil }
    }

    /// Ends every session of a hub session (back-channel logout with `sid`); returns how many.
    public func removeAll(hubSessionID: String) -> Int {
        let ids = byHubSession[hubSessionID] ?? []
        for id in ids { remove(id) }
        remember(ended: ids)
        return ids.count
    }

    /// Whether a back-channel logout ended the session with this cookie value (and forgets it).
    public func wasEnded(_ id: String) -> Bool {
        ended.remove(id) != nil
    }

    private func remember(ended ids: Set<String>) {
        if ended.count > 10_000 { ended.removeAll() }
        ended.formUnion(ids)
    }

    /// Ends every session of a user (back-channel logout with only `sub`); returns how many.
    public func removeAll(subject: String) -> Int {
        let ids = bySubject[subject] ?? []
        for id in ids { remove(id) }
        remember(ended: ids)
        return ids.count
    }

    /// How many sessions there are.
    public var count: Int { sessions.count }

    /// The username learned for `sub`, if any.
    public func username(for subject: String) -> String? { usernames[subject] }

    /// Remembers a login under way (dropping those older than 10 minutes).
    public func addPending(_ key: String, _ login: PendingLogin) {
        let cutoff = ContinuousClock.now - .seconds(600)
        pending = pending.filter { $0.value.startedAt > cutoff }
        pending[key] = login
    }

    /// Takes a login under way (single use).
    public func takePending(_ key: String) -> PendingLogin? {
        guard let login = pending.removeValue(forKey: key), login.startedAt > ContinuousClock.now - .seconds(600) else { return nil }
        return login
    }
}
