/// Who a validated access token speaks for, from its claims (RFC 9068).
public struct Identity: Sendable, Hashable {
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

    /// Whether the token was granted `scope`.
    public func hasScope(_ scope: some StringProtocol) -> Bool {
        scopes.contains { $0.utf8.elementsEqual(scope.utf8) }
    }
}
