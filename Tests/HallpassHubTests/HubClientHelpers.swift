import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

/// The endpoint paths the hub publishes in discovery (`DiscoveryTests` checks they match).
enum HubPath {
    static let discovery = "/.well-known/openid-configuration"
    static let jwks = "/oauth2/jwks"
    static let authorization = "/oauth2/authorize"
    static let login = "/oauth2/login"
    static let token = "/oauth2/token"
    static let revocation = "/oauth2/revoke"
    static let introspection = "/oauth2/introspect"
    static let endSession = "/oauth2/logout"
    static let userinfo = "/oauth2/userinfo"
}

/// The tokens of a successful token response.
struct IssuedTokens: Sendable {
    let access: String
    let refresh: String
    let reply: HTTPReply

    /// The session the refresh token belongs to.
    var sessionID: String { RefreshToken(parsing: refresh)?.sessionID ?? "" }
}

extension HubFixture {
    /// A password login that must succeed.
    func loginTokens(
        _ username: String, password: String, client: String, secret: String?, scope: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> IssuedTokens {
        let reply = try await login(username, password: password, client: client, secret: secret, scope: scope)
        return try Self.tokens(reply, "login of \(username)", sourceLocation: sourceLocation)
    }

    /// A refresh that must succeed.
    func refreshTokens(
        _ token: String, client: String, secret: String?, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> IssuedTokens {
        let reply = try await refresh(token, client: client, secret: secret)
        return try Self.tokens(reply, "refresh", sourceLocation: sourceLocation)
    }

    static func tokens(_ reply: HTTPReply, _ what: String, sourceLocation: SourceLocation) throws -> IssuedTokens {
        try #require(reply.status == 200, "\(what) answered \(reply.status): \(reply.text)", sourceLocation: sourceLocation)
        let access = try #require(reply.string("access_token"), sourceLocation: sourceLocation)
        let refresh = try #require(reply.string("refresh_token"), sourceLocation: sourceLocation)
        return IssuedTokens(access: access, refresh: refresh, reply: reply)
    }

    /// RFC 7009 revocation, authenticating with Basic for a confidential client.
    func revoke(_ token: String?, hint: String? = nil, client: String, secret: String?) async throws -> HTTPReply {
        var form: [(String, String)] = []
        if let token { form.append(("token", token)) }
        if let hint { form.append(("token_type_hint", hint)) }
        if let secret { return try await post(HubPath.revocation, form: form, basic: (client, secret)) }
        return try await post(HubPath.revocation, form: form + [("client_id", client)])
    }

    /// Whether RFC 7662 introspection says `token` is active; fails the test on a non-200 answer.
    func isActive(_ token: String, client: String, secret: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Bool {
        let reply = try await introspect(token, client: client, secret: secret)
        try #require(reply.status == 200, "introspection answered \(reply.status): \(reply.text)", sourceLocation: sourceLocation)
        guard let active = reply["active"]?.boolValue else {
            Issue.record("introspection answered without a boolean active member: \(reply.text)", sourceLocation: sourceLocation)
            throw TestSupportErrorBox(description: "introspection answered without active")
        }
        return active
    }

    /// The API form of end-session: `POST` with a bearer access token.
    func logout(bearer: String?) async throws -> HTTPReply {
        try await post(HubPath.endSession, form: [], bearer: bearer)
    }

    /// `GET` userinfo with a bearer access token.
    func userinfo(bearer: String?) async throws -> HTTPReply {
        try await get(HubPath.userinfo, bearer: bearer)
    }

    /// The claims of an access token this hub issued, verified against its published JWKS.
    func verifiedClaims(of accessToken: String, audience: String) async throws -> JWTClaims {
        let jwks = try await get(HubPath.jwks)
        let keys = try VerificationKeys(jwks: JWKSet(jsonBytes: jwks.body))
        return try JWTValidator(configuration: .init(issuer: configuration.issuer, audience: audience), keys: keys)
            .validate(accessToken).claims
    }
}

/// Expects an RFC 6749 error answer: the status, the `error` code, a JSON body with an
/// `error_description`.
func expectError(
    _ reply: HTTPReply, status: Int, code: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(reply.status == status, "expected \(status) \(code), got \(reply.status): \(reply.text)", sourceLocation: sourceLocation)
    #expect(reply.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    #expect(reply.string("error") == code, "body: \(reply.text)", sourceLocation: sourceLocation)
    #expect(reply.string("error_description")?.isEmpty == false, "body: \(reply.text)", sourceLocation: sourceLocation)
}
