import AsyncHTTPClient
import Foundation
import HallpassCrypto
public import HallpassJOSE
public import Logging
import NIOCore

/// What the hub's discovery document says (OIDC Discovery 1.0), the parts a relying party uses.
public struct ProviderMetadata: Sendable, Hashable {
    /// `issuer`.
    public let issuer: String
    /// `authorization_endpoint`.
    public let authorizationEndpoint: String
    /// `token_endpoint`.
    public let tokenEndpoint: String
    /// `jwks_uri`.
    public let jwksURI: String
    /// `end_session_endpoint`, if the hub has one.
    public let endSessionEndpoint: String?
}

/// A token endpoint response (RFC 6749 section 5.1).
public struct TokenResponse: Sendable {
    /// `access_token`.
    public let accessToken: String
    /// `refresh_token`, when issued.
    public let refreshToken: String?
    /// `id_token`, when issued.
    public let idToken: String?
    /// When the access token expires (Unix s), from `expires_in`.
    public let expiresAt: Double
    /// `scope`, when given.
    public let scope: String?
}

/// The claims of a verified ID token that the app shows.
public struct IDTokenClaims: Sendable, Hashable {
    /// `sub`.
    public let subject: String
    /// `sid`.
    public let sessionID: String?
    /// `preferred_username`.
    public let username: String?
    /// `name`.
    public let name: String?
    /// `auth_time`.
    public let authTime: Double?
}

/// Why talking to the hub failed.
public enum RelyingPartyError: Error, Sendable, CustomStringConvertible {
    /// The hub could not be reached or answered something unusable.
    case hubUnavailable(String)
    /// The token endpoint refused the request (`error` code from RFC 6749 section 5.2).
    case refused(String)
    /// An ID token did not verify.
    case invalidIDToken(String)

    /// A description for logs and pages; never carries a token or secret.
    public var description: String {
        switch self {
        case .hubUnavailable(let reason): "the hub is unavailable: \(reason)"
        case .refused(let code): "the hub refused the request: \(code)"
        case .invalidIDToken(let reason): "the ID token is invalid: \(reason)"
        }
    }
}

/// The OIDC relying-party side of a sample app: discovery, the JWKS, the code exchange, refresh
/// and ID token verification. Back-channel calls go through AsyncHTTPClient.
public actor RelyingParty {
    /// The app's settings.
    public nonisolated let settings: SampleAppSettings
    private let logger: Logger
    private var cachedMetadata: ProviderMetadata?
    private var cachedKeys: VerificationKeys?
    private var keysFetchedAt: ContinuousClock.Instant?

    /// A relying party for `settings`; nothing is fetched until first needed.
    public init(settings: SampleAppSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    // MARK: Discovery and keys

    /// The discovery document, fetched once.
    public func metadata() async throws(RelyingPartyError) -> ProviderMetadata {
        if let cachedMetadata { return cachedMetadata }
        let json = try await getJSON(settings.hubURL + "/.well-known/openid-configuration")
        guard let object = json.objectValue else { throw .hubUnavailable("discovery is not a JSON object") }
        func member(_ name: String) throws(RelyingPartyError) -> String {
            guard let value = object[name]?.stringValue, !value.isEmpty else { throw .hubUnavailable("discovery lacks \(name)") }
            return value
        }
        let metadata = ProviderMetadata(
            issuer: try member("issuer"), authorizationEndpoint: try member("authorization_endpoint"),
            tokenEndpoint: try member("token_endpoint"), jwksURI: try member("jwks_uri"),
            endSessionEndpoint: object["end_session_endpoint"]?.stringValue)
        cachedMetadata = metadata
        return metadata
    }

    /// Waits until discovery answers, for up to `timeout`; logs while it waits.
    public func waitForHub(timeout: Duration) async throws(RelyingPartyError) -> ProviderMetadata {
        let deadline = ContinuousClock.now + timeout
        var lastLog = ContinuousClock.now
        while true {
            do {
                return try await metadata()
            } catch {
                if ContinuousClock.now >= deadline { throw error }
                if ContinuousClock.now - lastLog > .seconds(5) {
                    logger.warning("waiting for the hub at \(settings.hubURL): \(error)")
                    lastLog = .now
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// The hub's signing keys from its JWKS; `refresh` re-reads them (at most once a second).
    public func keys(refresh: Bool = false) async throws(RelyingPartyError) -> VerificationKeys {
        if let cachedKeys, let keysFetchedAt {
            let age = ContinuousClock.now - keysFetchedAt
            if (!refresh && age < .seconds(300)) || age < .seconds(1) { return cachedKeys }
        }
        let json = try await getJSON(try await metadata().jwksURI)
        let keys: VerificationKeys
        do {
            keys = try VerificationKeys(jwks: JWKSet(json: json))
        } catch {
            throw .hubUnavailable("the JWKS does not parse: \(error)")
        }
        cachedKeys = keys
        keysFetchedAt = .now
        return keys
    }

    // MARK: Authorization code flow

    /// The URL that starts a login at the hub (authorization code + PKCE S256 + state + nonce).
    ///
    /// `acrValues` (space-separated, e.g. `"mfa"`) asks the hub for an authentication context
    /// class, and `maxAge` (seconds) for a sign-in no older than that (OIDC Core §3.1.2.1); the
    /// hub then authenticates the user again as needed, even inside a single-sign-on session.
    public func authorizationURL(
        state: String, nonce: String, codeChallenge: String, acrValues: String? = nil, maxAge: Int64? = nil
    ) async throws(RelyingPartyError) -> String {
        let endpoint = try await metadata().authorizationEndpoint
        var parameters = [
            ("response_type", "code"), ("client_id", settings.clientID), ("redirect_uri", settings.redirectURI),
            ("scope", "openid profile email"), ("state", state), ("nonce", nonce), ("code_challenge", codeChallenge),
            ("code_challenge_method", "S256"),
        ]
        if let acrValues { parameters.append(("acr_values", acrValues)) }
        if let maxAge { parameters.append(("max_age", String(maxAge))) }
        let query = FormEncoding.encode(parameters)
        return endpoint + (endpoint.contains("?") ? "&" : "?") + query
    }

    /// The URL that ends the session at the hub (OIDC RP-Initiated Logout 1.0), or nil when the
    /// hub has no end-session endpoint.
    public func endSessionURL(idTokenHint: String?, state: String) async -> String? {
        guard let endpoint = try? await metadata().endSessionEndpoint else { return nil }
        var parameters = [("client_id", settings.clientID), ("post_logout_redirect_uri", settings.postLogoutRedirectURI), ("state", state)]
        if let idTokenHint { parameters.insert(("id_token_hint", idTokenHint), at: 0) }
        return endpoint + (endpoint.contains("?") ? "&" : "?") + FormEncoding.encode(parameters)
    }

    /// Exchanges an authorization code (with its PKCE verifier) for tokens.
    public func exchange(code: String, codeVerifier: String) async throws(RelyingPartyError) -> TokenResponse {
        try await tokenRequest([
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", settings.redirectURI), ("code_verifier", codeVerifier),
        ])
    }

    /// Refreshes an access token; the hub rotates the refresh token.
    public func refresh(_ refreshToken: String) async throws(RelyingPartyError) -> TokenResponse {
        try await tokenRequest([("grant_type", "refresh_token"), ("refresh_token", refreshToken)])
    }

    private func tokenRequest(_ parameters: [(String, String)]) async throws(RelyingPartyError) -> TokenResponse {
        let endpoint = try await metadata().tokenEndpoint
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        // RFC 6749 section 2.3.1: id and secret are form-encoded before they are joined.
        let credentials = FormEncoding.escape(settings.clientID) + ":" + FormEncoding.escape(settings.clientSecret)
        request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(parameters)))
        let (status, json) = try await send(request)
        guard let object = json.objectValue else { throw .hubUnavailable("token response is not a JSON object") }
        guard status == 200 else {
            if let code = object["error"]?.stringValue, (400..<500).contains(status) { throw .refused(code) }
            throw .hubUnavailable("token endpoint answered \(status)")
        }
        guard let accessToken = object["access_token"]?.stringValue, !accessToken.isEmpty else {
            throw .hubUnavailable("token response lacks access_token")
        }
        let lifetime = object["expires_in"]?.numericValue ?? 300
        return TokenResponse(
            accessToken: accessToken, refreshToken: object["refresh_token"]?.stringValue, idToken: object["id_token"]?.stringValue,
            expiresAt: wallClockSeconds() + lifetime, scope: object["scope"]?.stringValue)
    }

    /// Verifies an ID token (OIDC Core section 3.1.3.7): signature against the hub's JWKS,
    /// `iss`, `aud` containing this client (and `azp` when several), `exp`, `iat`, and `nonce`
    /// equal to the one this login sent.
    public func verifyIDToken(_ token: String, nonce: String) async throws(RelyingPartyError) -> IDTokenClaims {
        let issuer = try await metadata().issuer
        let rules = JWTValidator.Configuration(issuer: issuer, audience: settings.clientID, requiredType: nil, leeway: 10)
        var verified: VerifiedJWT?
        for refresh in [false, true] {
            let validator = JWTValidator(configuration: rules, keys: try await keys(refresh: refresh))
            do {
                verified = try validator.validate(token)
                break
            } catch {
                if case .unknownKey = error, !refresh { continue }
                throw .invalidIDToken("\(error)")
            }
        }
        guard let claims = verified?.claims else { throw .invalidIDToken("unknown key") }
        guard let subject = claims.subject, !subject.isEmpty else { throw .invalidIDToken("sub is missing") }
        guard let sent = claims["nonce"]?.stringValue, ConstantTime.equals(Array(sent.utf8), Array(nonce.utf8)) else {
            throw .invalidIDToken("nonce does not match")
        }
        if claims.audience.count > 1, claims["azp"]?.stringValue != settings.clientID {
            throw .invalidIDToken("azp is not this client")
        }
        return IDTokenClaims(
            subject: subject, sessionID: claims["sid"]?.stringValue, username: claims["preferred_username"]?.stringValue,
            name: claims["name"]?.stringValue, authTime: claims["auth_time"]?.numericValue)
    }

    // MARK: HTTP

    private func getJSON(_ url: String) async throws(RelyingPartyError) -> JSONValue {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let (status, json) = try await send(request)
        guard status == 200 else { throw .hubUnavailable("\(url) answered \(status)") }
        return json
    }

    private func send(_ request: HTTPClientRequest) async throws(RelyingPartyError) -> (Int, JSONValue) {
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            let json = try JSONParser.parse(body.readableBytesView)
            return (Int(response.status.code), json)
        } catch let error as RelyingPartyError {
            throw error
        } catch {
            throw .hubUnavailable("\(type(of: error))")
        }
    }
}

/// `application/x-www-form-urlencoded` encoding and decoding (WHATWG URL, RFC 6749 appendix B).
public enum FormEncoding {
    /// `name=value&…`, each part escaped.
    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    /// Escapes everything but unreserved characters (RFC 3986 section 2.3).
    public static func escape(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return result
    }

    /// Parses a form body or query string; nil when malformed (bad escapes, not UTF-8, or a
    /// name that appears twice, RFC 6749 section 3.1).
    public static func decode(_ bytes: some Sequence<UInt8>) -> [String: String]? {
        var result: [String: String] = [:]
        for pair in Array(bytes).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let nameBytes = PercentEncoding.decode(parts[0], plusIsSpace: true),
                let name = String(validating: nameBytes, as: UTF8.self)
            else { return nil }
            var value = ""
            if parts.count > 1 {
                guard let valueBytes = PercentEncoding.decode(parts[1], plusIsSpace: true),
                    let text = String(validating: valueBytes, as: UTF8.self)
                else { return nil }
                value = text
            }
            guard result[name] == nil else { return nil }
            result[name] = value
        }
        return result
    }
}
