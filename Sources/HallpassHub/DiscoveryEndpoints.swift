import HallpassJOSE
import HallpassStore
import Hummingbird

/// The endpoint paths. Clients find them through discovery; only the well-known path is fixed.
enum Paths {
    static let discovery = "/.well-known/openid-configuration"
    static let jwks = "/oauth2/jwks"
    static let authorization = "/oauth2/authorize"
    static let token = "/oauth2/token"
    static let revocation = "/oauth2/revoke"
    static let introspection = "/oauth2/introspect"
    static let endSession = "/oauth2/logout"
    static let userinfo = "/oauth2/userinfo"
}

/// OIDC Discovery 1.0 and the JWKS (RFC 7517).
struct DiscoveryEndpoints: Sendable {
    let services: HubServices

    func discovery(_ request: Request, context: HubRequestContext) throws -> Response {
        let issuer = services.configuration.issuer
        // Every algorithm the hub can sign ID tokens with: the primary key's for most clients,
        // and each algorithm a client may register for (an ID-token key is made on first need).
        // OIDC Core section 15.1 requires RS256.
        let algorithms = JWSAlgorithm.allCases.map(\.rawValue).sorted()
        let document: JSONValue = [
            "issuer": .string(issuer),
            "jwks_uri": .string(issuer + Paths.jwks),
            "authorization_endpoint": .string(issuer + Paths.authorization),
            "token_endpoint": .string(issuer + Paths.token),
            "revocation_endpoint": .string(issuer + Paths.revocation),
            "introspection_endpoint": .string(issuer + Paths.introspection),
            "end_session_endpoint": .string(issuer + Paths.endSession),
            "userinfo_endpoint": .string(issuer + Paths.userinfo),
            "device_authorization_endpoint": .string(issuer + Paths.deviceAuthorization),
            "grant_types_supported": ["authorization_code", "password", "refresh_token", "client_credentials", .string(DeviceGrant.grantType)],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "prompt_values_supported": ["none", "login"],
            "authorization_response_iss_parameter_supported": true,
            "subject_types_supported": ["public"],
            "scopes_supported": .array(Scopes.supportedList.map { .string($0) }),
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "sid", "nonce", "azp", "at_hash", "preferred_username", "name", "email",
                "email_verified", "amr", "acr",
            ],
            // `pwd`: a password; `mfa`: a password and a second factor (see AuthenticationMethods).
            "acr_values_supported": .array(AuthenticationMethods.levels.map { .string($0) }),
            "id_token_signing_alg_values_supported": .array(algorithms.map { .string($0) }),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
        ]
        return Reply.json(document, noStore: false, headers: [.cacheControl: "public, max-age=60"])
    }

    func jwks(_ request: Request, context: HubRequestContext) throws -> Response {
        let snapshot = try services.keys()
        // Short caching: a key announced for rotation must reach clients before it signs.
        return Reply.json(snapshot.keys.jwks.json, noStore: false, headers: [.cacheControl: "public, max-age=60"])
    }
}
