// The checks of an authorization request that need no store and no HTTP types: apart from
// BrowserEndpoints so that the `redirect-uri` fuzz target compiles them alone.

/// The parameters of an authorization request (RFC 6749 section 4.1.1, OIDC Core 3.1.2.1),
/// checked against the client's registration. The redirect URI is checked first: until it is
/// known to be registered, a failure is ``Failure/unregisteredRedirect`` (a page at the hub);
/// after that, every failure names the URI to send the browser back to.
struct AuthorizationParameters: Sendable, Equatable {
    let redirectURI: String
    let state: String
    let nonce: String?
    /// The granted scope (``Scopes/parse(_:)``).
    let scope: String
    let codeChallenge: String?
    let prompt: Set<Substring>
    /// `max_age` (OIDC Core 3.1.2.1): the oldest authentication, in seconds, that may sign
    /// the user in without the form; at most nine digits.
    let maxAge: Int64?
    /// `acr_values` (OIDC Core 3.1.2.1), as sent.
    let acrValues: String?

    /// The parameters as form fields, `client_id` and `prompt` aside (the login form carries
    /// them back to the hub, whose `POST` re-validates them): `response_type` first, then
    /// `redirect_uri`, the granted `scope`, `state` and whichever of the rest were sent.
    var formFields: [(String, String)] {
        var fields = [("response_type", "code"), ("redirect_uri", redirectURI), ("scope", scope), ("state", state)]
        if let nonce { fields.append(("nonce", nonce)) }
        if let codeChallenge { fields += [("code_challenge", codeChallenge), ("code_challenge_method", "S256")] }
        if let maxAge { fields.append(("max_age", String(maxAge))) }
        if let acrValues { fields.append(("acr_values", acrValues)) }
        return fields
    }

    /// The longest `state`, `nonce` and `acr_values` accepted, in bytes.
    static let maximumParameter = 2048

    /// What the client's registration says, as far as these checks go.
    struct Registration: Sendable {
        let redirectURIs: [String]
        /// Whether the client's grant types include `authorization_code`.
        let mayUseAuthorizationCode: Bool
        let isConfidential: Bool
    }

    enum Failure: Error, Equatable {
        /// No `redirect_uri`, or one not registered for the client: the hub shows a page and
        /// never redirects, since the URI cannot be trusted.
        case unregisteredRedirect
        /// Any other failure, answered by redirecting to `redirectURI` (registered) with
        /// `error`, `error_description` and `state` (RFC 6749 section 4.1.2.1).
        case refused(redirectURI: String, error: String, description: String, state: String?)
    }

    init(_ parameters: FormBody, registration: Registration) throws(Failure) {
        guard let redirectURI = parameters["redirect_uri"], RedirectURI.isRegistered(redirectURI, in: registration.redirectURIs) else {
            throw .unregisteredRedirect
        }
        let state = parameters["state"]
        func fail(_ error: String, _ description: String) -> Failure {
            .refused(redirectURI: redirectURI, error: error, description: description, state: state)
        }
        if parameters["request"] != nil { throw fail("request_not_supported", "request objects are not supported") }
        if parameters["request_uri"] != nil { throw fail("request_uri_not_supported", "request_uri is not supported") }
        guard let responseType = parameters["response_type"] else { throw fail("invalid_request", "response_type is required") }
        guard responseType == "code" else { throw fail("unsupported_response_type", "only response_type=code is supported") }
        guard registration.mayUseAuthorizationCode else {
            throw fail("unauthorized_client", "this client may not use the authorization code flow")
        }
        guard let state, state.utf8.count <= Self.maximumParameter else {
            throw fail("invalid_request", "state is required (at most 2048 bytes)")
        }
        let nonce = parameters["nonce"]
        if let nonce, nonce.utf8.count > Self.maximumParameter { throw fail("invalid_request", "nonce is too long") }
        let scope: String
        do { scope = try Scopes.parse(parameters["scope"]) } catch { throw fail(error.code, error.description) }
        let challenge = parameters["code_challenge"]
        let method = parameters["code_challenge_method"]
        if let challenge {
            guard method == "S256" else { throw fail("invalid_request", "code_challenge_method must be S256") }
            guard PKCE.isValidChallenge(challenge) else { throw fail("invalid_request", "code_challenge is malformed") }
        } else {
            guard method == nil else { throw fail("invalid_request", "code_challenge_method without code_challenge") }
            guard registration.isConfidential else { throw fail("invalid_request", "PKCE (code_challenge with S256) is required") }
        }
        let prompt = Set((parameters["prompt"] ?? "").split(separator: " "))
        if prompt.contains("none") && prompt.count > 1 { throw fail("invalid_request", "prompt=none cannot be combined") }
        var maxAge: Int64?
        if let text = parameters["max_age"] {
            // Digits only (no sign, no spaces), and at most nine: over 31 years is no limit.
            guard (1...9).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int64(text) else {
                throw fail("invalid_request", "max_age must be a number of seconds")
            }
            maxAge = value
        }
        let acrValues = parameters["acr_values"]
        if let acrValues, acrValues.utf8.count > Self.maximumParameter { throw fail("invalid_request", "acr_values is too long") }
        self.redirectURI = redirectURI
        self.state = state
        self.nonce = nonce
        self.scope = scope
        self.codeChallenge = challenge
        self.prompt = prompt
        self.maxAge = maxAge
        self.acrValues = acrValues
    }
}

/// Redirect URI matching: exact string matching, as RFC 9700 (sections 2.1 and 4.1.3) and
/// OAuth 2.1 demand, without even the exception they allow for the port of a loopback URI.
enum RedirectURI {
    /// Whether `requested` is one of `registered`, byte for byte.
    ///
    /// Not `==`: Swift compares strings by canonical equivalence, under which `;` equals
    /// U+037E, `K` equals U+212A and a precomposed letter equals its decomposition, so a URI
    /// the client never registered (a browser sends U+037E as `%CD%BE`, another path) would pass.
    static func isRegistered(_ requested: String, in registered: [String]) -> Bool {
        registered.contains { isSame(requested, $0) }
    }

    /// Whether two redirect URIs are identical (RFC 6749 section 4.1.3), byte for byte.
    static func isSame(_ requested: String, _ expected: String) -> Bool {
        requested.utf8.elementsEqual(expected.utf8)
    }
}
