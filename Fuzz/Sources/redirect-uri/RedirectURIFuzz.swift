@testable import AuthorizeShim
import FuzzSupport
import HallpassCrypto

/// Authorization-request checks and redirect-URI matching (AuthorizationParameters, run on
/// every `GET`/`POST /oauth2/authorize` before anything else) on any request. The first byte
/// sets the registration (bit 0: confidential client; bit 1: may use the code flow); the rest,
/// split at newlines, is the request's query and then the client's registered redirect URIs.
/// It must not crash, and:
/// - a request is refused with a page, never a redirect, exactly when its `redirect_uri` is not
///   byte for byte a registered one (RFC 9700 section 4.1.3: exact string matching);
/// - a refusal redirects to that URI with the request's own `state`;
/// - an accepted request keeps the promises HUB.md makes: `response_type=code`, `state` of at
///   most 2048 bytes, PKCE S256 with a well-formed challenge (always for a public client),
///   only scopes the hub supports, `max_age` of digits, `prompt=none` alone;
/// - the login form's hidden fields, posted back, validate to the same request (the hub
///   re-validates the form's `POST` with them), `prompt` aside, which the form does not carry.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRedirectURI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        guard let selector = input.first else { return }
        let lines = UnsafeBufferPointer(rebasing: input.dropFirst()).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard let query = lines.first, let form = try? FormBody(parsing: Array(query)) else { return }
        // Registered URIs are Strings from the store: valid UTF-8.
        let registered = lines.dropFirst().map { String(decoding: $0, as: UTF8.self) }
        let registration = AuthorizationParameters.Registration(
            redirectURIs: registered, mayUseAuthorizationCode: selector & 2 != 0, isConfidential: selector & 1 != 0)
        let shown = String(decoding: query.prefix(300), as: UTF8.self)
        let requested = form["redirect_uri"]
        let isRegistered = requested.map { uri in registered.contains { same($0, uri) } } ?? false

        let result = Result { () throws(AuthorizationParameters.Failure) in try AuthorizationParameters(form, registration: registration) }
        switch result {
        case .failure(.unregisteredRedirect):
            require(!isRegistered, "a registered redirect_uri was refused with a page: \(shown)")
        case .failure(.refused(let uri, let error, _, let state)):
            require(isRegistered && same(uri, requested), "redirected to an unregistered URI \(uri): \(shown)")
            require(state == form["state"], "the refusal does not carry the request's state: \(shown)")
            require(knownErrors.contains(error), "unknown error code \(error): \(shown)")
        case .success(let accepted):
            require(isRegistered && same(accepted.redirectURI, requested), "accepted an unregistered URI: \(shown)")
            checkPromises(accepted, form, registration, shown)
            checkHiddenFields(accepted, registration, shown)
        }
    }
    return 0
}

private let knownErrors: Set<String> = [
    "invalid_request", "invalid_scope", "unsupported_response_type", "unauthorized_client", "request_not_supported",
    "request_uri_not_supported",
]

private func checkPromises(_ accepted: AuthorizationParameters, _ form: FormBody, _ registration: AuthorizationParameters.Registration, _ shown: String) {
    require(form["response_type"] == "code" && registration.mayUseAuthorizationCode, "accepted without the code flow: \(shown)")
    require(form["request"] == nil && form["request_uri"] == nil, "accepted a request object: \(shown)")
    require(accepted.state == form["state"] && accepted.state.utf8.count <= AuthorizationParameters.maximumParameter, "state: \(shown)")
    require((accepted.nonce?.utf8.count ?? 0) <= AuthorizationParameters.maximumParameter, "nonce too long: \(shown)")
    require((accepted.acrValues?.utf8.count ?? 0) <= AuthorizationParameters.maximumParameter, "acr_values too long: \(shown)")
    let scopes = accepted.scope.split(separator: " ", omittingEmptySubsequences: false)
    require(!scopes.isEmpty && scopes.allSatisfy(Scopes.supported.contains) && Set(scopes).count == scopes.count, "scope \(accepted.scope): \(shown)")
    if let challenge = accepted.codeChallenge {
        require(form["code_challenge_method"] == "S256", "a challenge without S256: \(shown)")
        require((try? UnpaddedBase64.url.decode(challenge))?.count == 32, "a challenge that is no SHA-256 digest: \(shown)")
    } else {
        require(registration.isConfidential && form["code_challenge_method"] == nil, "no PKCE for a public client: \(shown)")
    }
    if let maxAge = accepted.maxAge { require((0...999_999_999).contains(maxAge), "max_age \(maxAge): \(shown)") }
    require(!accepted.prompt.contains("none") || accepted.prompt.count == 1, "prompt=none combined: \(shown)")
}

/// The login form's hidden fields (`formFields`, which AuthorizationRequest.hiddenFields adds
/// `client_id` to), form-encoded and parsed again, as the form's `POST` is.
private func checkHiddenFields(_ accepted: AuthorizationParameters, _ registration: AuthorizationParameters.Registration, _ shown: String) {
    let fields = accepted.formFields
    let body = fields.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
    guard let form = try? FormBody(parsing: Array(body.utf8)) else { fuzzFailure("the hidden fields do not parse: \(body) (from \(shown))") }
    let again = Result { () throws(AuthorizationParameters.Failure) in try AuthorizationParameters(form, registration: registration) }
    guard case .success(let reread) = again else { fuzzFailure("the hidden fields are refused: \(again) for \(body) (from \(shown))") }
    require(
        same(reread.redirectURI, accepted.redirectURI) && same(reread.state, accepted.state) && same(reread.nonce, accepted.nonce)
            && same(reread.scope, accepted.scope) && same(reread.codeChallenge, accepted.codeChallenge)
            && reread.maxAge == accepted.maxAge && same(reread.acrValues, accepted.acrValues) && reread.prompt.isEmpty,
        "the hidden fields validate differently: \(reread) vs \(accepted) (from \(shown))")
}

/// Byte equality: `==` on strings is canonical equivalence, which would hide a changed byte.
private func same(_ a: String?, _ b: String?) -> Bool {
    a.map { Array($0.utf8) } == b.map { Array($0.utf8) }
}
