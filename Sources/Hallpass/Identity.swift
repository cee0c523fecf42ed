/// Who a validated access token speaks for, from its claims (RFC 9068).
///
/// Immutable. A class so that handing the cached identity to a request costs one reference
/// count instead of one per field (several threads validating the same token would otherwise
/// contend on every string's count); equality and hashing compare the values.
public final class Identity: Sendable, Hashable, CustomStringConvertible {
    /// `sub`: the user's stable id (not the username).
    public let subject: String
    /// `preferred_username`, when the token carries it.
    public let username: String?
    /// `sid`: the single-sign-on session the token belongs to.
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

    /// An identity; the validator makes these, tests and apps may too.
    public init(
        subject: String, username: String?, sessionID: String, clientID: String, scopes: [String], tokenID: String,
        issuedAt: Int64, expiresAt: Double
    ) {
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
            || (a.subject == b.subject && a.username == b.username && a.sessionID == b.sessionID && a.clientID == b.clientID
                && a.scopes == b.scopes && a.tokenID == b.tokenID && a.issuedAt == b.issuedAt && a.expiresAt == b.expiresAt)
    }

    /// Hashes the values (the token id alone identifies a token).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(tokenID)
        hasher.combine(subject)
    }

    /// A description for logs: subject, session and client; no token id.
    public var description: String { "Identity(sub: \(subject), sid: \(sessionID), client: \(clientID))" }

    /// Whether the token was granted `scope`.
    public func hasScope(_ scope: some StringProtocol) -> Bool {
        scopes.contains { $0.utf8.elementsEqual(scope.utf8) }
    }
}
