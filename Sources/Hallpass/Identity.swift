public import HallpassJOSE
import HallpassStore

/// Who a validated access token speaks for, from its claims (RFC 9068): a user signed in
/// through a client, or a client on its own behalf (the client credentials grant, RFC 6749
/// section 4.4); ``kind`` tells which.
///
/// Immutable. A class so that handing the cached identity to a request costs one reference
/// count instead of one per field (several threads validating the same token would otherwise
/// contend on every string's count); equality and hashing compare the values.
public final class Identity: Sendable, Hashable, CustomStringConvertible {
    /// Whom a token speaks for.
    public enum Kind: String, Sendable, Hashable {
        /// A user, signed in at the hub in a session; the token was issued to a client for them.
        case user
        /// A client on its own behalf (client credentials grant): no user, no session.
        case client
    }

    /// Whether the token speaks for a user or for a client itself.
    public let kind: Kind
    /// `sub`: the user's stable id (not the username); for a client's own token, the client id.
    public let subject: String
    /// `preferred_username`, when the token carries it (never for a client's own token).
    public let username: String?
    /// `sid`: the single-sign-on session the token belongs to; empty for a client's own token,
    /// which belongs to no session.
    public let sessionID: String
    /// `client_id`: the client the token was issued to.
    public let clientID: String
    /// `scope`, split on spaces.
    public let scopes: [String]
    /// `jti`: the token's own id.
    public let tokenID: String
    /// `iat` (Unix s).
    public let issuedAt: Int64
    /// `exp` (Unix s).
    public let expiresAt: Double
    /// `amr` (RFC 8176): how the user authenticated, e.g. `["pwd"]` after a password alone and
    /// `["pwd", "otp", "mfa"]` after a password and a one-time code. Empty when the token carries
    /// none (tokens minted before the hub sent it, and clients' own tokens).
    public let authenticationMethods: [String]
    /// `acr`: the authentication context class the sign-in satisfied, one of the hub's
    /// `acr_values_supported` (`"pwd"`, `"mfa"`); nil when the token carries none.
    public let authenticationContext: String?
    /// `auth_time` (Unix s): when the user last authenticated at the hub (entered a password
    /// or a code), not when this token was issued; nil when the token carries none.
    public let authTime: Int64?

    /// An identity; the validator makes these, tests and apps may too. `kind` defaults to a
    /// user's; the authentication claims default to absent, as in tokens that predate them.
    public init(
        subject: String, username: String?, sessionID: String, clientID: String, scopes: [String], tokenID: String,
        issuedAt: Int64, expiresAt: Double, kind: Kind = .user, authenticationMethods: [String] = [],
        authenticationContext: String? = nil, authTime: Int64? = nil
    ) {
        self.kind = kind
        self.subject = subject
        self.username = username
        self.sessionID = sessionID
        self.clientID = clientID
        self.scopes = scopes
        self.tokenID = tokenID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.authenticationMethods = authenticationMethods
        self.authenticationContext = authenticationContext
        self.authTime = authTime
    }

    /// Whether two identities have the same values.
    public static func == (a: Identity, b: Identity) -> Bool {
        a === b
            || (a.kind == b.kind && a.subject == b.subject && a.username == b.username && a.sessionID == b.sessionID && a.clientID == b.clientID
                && a.scopes == b.scopes && a.tokenID == b.tokenID && a.issuedAt == b.issuedAt && a.expiresAt == b.expiresAt
                && a.authenticationMethods == b.authenticationMethods && a.authenticationContext == b.authenticationContext
                && a.authTime == b.authTime)
    }

    /// Hashes the values (the token id alone identifies a token).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(tokenID)
        hasher.combine(subject)
    }

    /// Whether the token is a client's own (client credentials grant), speaking for no user.
    public var isClient: Bool { kind == .client }

    /// A description for logs: subject, session and client; no token id.
    public var description: String {
        isClient ? "Identity(client: \(clientID))" : "Identity(sub: \(subject), sid: \(sessionID), client: \(clientID))"
    }

    /// Whether the user signed in with a second factor: `acr` is `"mfa"` or `amr` contains
    /// `"mfa"` (RFC 8176). Never for a client's own token, which speaks for no user.
    public var hasSecondFactor: Bool {
        !isClient && (authenticationContext == Self.secondFactorContext || authenticationMethods.contains(Self.secondFactorContext))
    }

    /// Whether the user authenticated at the hub at most `seconds` before `now` (Unix s), by
    /// `auth_time`, as OpenID Connect's `max_age` counts. False without `auth_time` (a token
    /// that cannot say how old its sign-in is proves no recent one) and for a client's own token.
    public func authenticated(within seconds: Int64, now: Double = wallClockSeconds()) -> Bool {
        guard !isClient, let authTime else { return false }
        return now - Double(authTime) <= Double(seconds)
    }

    /// Whether the sign-in satisfies the authentication context class `required` (an `acr`
    /// value). The hub's levels are ordered, `"pwd"` below `"mfa"`, so a second factor
    /// satisfies a demand for `"pwd"`; any other value must match `acr` exactly. When the token
    /// has no `acr`, its level is read from `amr` (`"mfa"`, then `"pwd"`); a token with
    /// neither satisfies nothing. A client's own token never does.
    public func satisfies(authenticationContext required: String) -> Bool {
        guard !isClient else { return false }
        if authenticationContext == required { return true }
        let level =
            hasSecondFactor
            ? Self.secondFactorContext
            : authenticationContext ?? (authenticationMethods.contains(Self.passwordContext) ? Self.passwordContext : nil)
        guard let level, let have = Self.orderedContexts.firstIndex(of: level), let need = Self.orderedContexts.firstIndex(of: required)
        else { return false }
        return have >= need
    }

    /// The hub's `acr_values_supported`, weakest first: the store's one list, which the hub
    /// publishes in discovery.
    private static let orderedContexts = AuthenticationMethods.levels

    /// The `acr` (and `amr`) value of a sign-in with a second factor.
    public static let secondFactorContext = AuthenticationMethods.secondFactorLevel
    /// The `acr` (and `amr`) value of a sign-in with a password alone.
    public static let passwordContext = AuthenticationMethods.passwordLevel

    /// Whether the token was granted `scope`.
    public func hasScope(_ scope: some StringProtocol) -> Bool {
        scopes.contains { $0.utf8.elementsEqual(scope.utf8) }
    }
}
