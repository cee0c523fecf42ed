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

    /// An identity; the validator makes these, tests and apps may too. `kind` defaults to a
    /// user's.
    public init(
        subject: String, username: String?, sessionID: String, clientID: String, scopes: [String], tokenID: String,
        issuedAt: Int64, expiresAt: Double, kind: Kind = .user
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
    }

    /// Whether two identities have the same values.
    public static func == (a: Identity, b: Identity) -> Bool {
        a === b
            || (a.kind == b.kind && a.subject == b.subject && a.username == b.username && a.sessionID == b.sessionID && a.clientID == b.clientID
                && a.scopes == b.scopes && a.tokenID == b.tokenID && a.issuedAt == b.issuedAt && a.expiresAt == b.expiresAt)
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

    /// Whether the token was granted `scope`.
    public func hasScope(_ scope: some StringProtocol) -> Bool {
        scopes.contains { $0.utf8.elementsEqual(scope.utf8) }
    }
}
