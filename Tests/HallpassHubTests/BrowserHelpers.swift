import AsyncHTTPClient
import Foundation
import HallpassCrypto
import HallpassJOSE
import HallpassStore
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// An HTTP client that does not follow redirects, so tests see every `Location`.
let noRedirectClient = HTTPClient(
    eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

/// A minimal browser: a cookie jar over ``noRedirectClient``, for one hub origin.
final class TestBrowser: Sendable {
    let jar = Mutex<[String: String]>([:])
    /// Every `Set-Cookie` header seen, raw.
    let setCookies = Mutex<[String]>([])

    func request(_ url: String, method: HTTPMethod = .GET, form: [(String, String)]? = nil) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        let cookie = jar.withLock { $0.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
        if !cookie.isEmpty { request.headers.add(name: "Cookie", value: cookie) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form.map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&")))
        }
        let reply = try await HTTPReply(noRedirectClient.execute(request, timeout: .seconds(30)))
        for (name, value) in reply.headers where name.lowercased() == "set-cookie" {
            setCookies.withLock { $0.append(value) }
            let pair = value.split(separator: ";")[0]
            guard let equals = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<equals]), content = String(pair[pair.index(after: equals)...])
            jar.withLock { jar in
                if content.isEmpty || value.contains("Max-Age=0") { jar[name] = nil } else { jar[name] = content }
            }
        }
        return reply
    }

    func cookie(_ name: String) -> String? { jar.withLock { $0[name] } }
    func setCookie(_ name: String, _ value: String?) { jar.withLock { $0[name] = value } }
}

/// One authorization request's parameters.
struct CodeRequest: Sendable {
    var client: String
    var redirectURI: String
    var state: String? = "st-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    var nonce: String? = "n-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    var verifier: String? = Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255) })
    var scope: String? = "openid profile"
    var extra: [(String, String)] = []

    var query: [(String, String)] {
        var items = [("response_type", "code"), ("client_id", client), ("redirect_uri", redirectURI)]
        if let state { items.append(("state", state)) }
        if let nonce { items.append(("nonce", nonce)) }
        if let scope { items.append(("scope", scope)) }
        if let verifier { items += [("code_challenge", PKCEChallenge.s256(verifier)), ("code_challenge_method", "S256")] }
        return items + extra
    }
}

enum PKCEChallenge {
    static func s256(_ verifier: String) -> String { Base64URL.encode(Digest.sha256(Array(verifier.utf8))) }
}

/// The query items of a URL.
func queryItems(_ url: String) -> [String: String] {
    var out: [String: String] = [:]
    for item in URLComponents(string: url)?.queryItems ?? [] { out[item.name] = item.value ?? "" }
    return out
}

/// The hidden inputs of the login form in `html`.
func hiddenFields(_ html: String) -> [(String, String)] {
    let pattern = try! NSRegularExpression(pattern: #"<input type="hidden" name="([^"]*)" value="([^"]*)">"#)
    let range = NSRange(html.startIndex..., in: html)
    return pattern.matches(in: html, range: range).map { match in
        func group(_ index: Int) -> String {
            String(html[Range(match.range(at: index), in: html)!])
                .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
                .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                .replacingOccurrences(of: "&amp;", with: "&")
        }
        return (group(1), group(2))
    }
}

extension HubFixture {
    /// Registers a client for the code flow; returns its secret (nil for a public client).
    @discardableResult
    func addWebClient(
        _ id: String, confidential: Bool = true, redirect: String, postLogout: [String] = []
    ) async throws -> String? {
        try await store.createClient(
            id: id, confidential: confidential, redirectURIs: [redirect], postLogoutRedirectURIs: postLogout,
            grantTypes: ["authorization_code", "refresh_token"], actor: "test"
        ).secret
    }

    func authorizeURL(_ request: CodeRequest) -> String {
        baseURL + HubPath.authorization + "?" + request.query.map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&")
    }

    /// Starts `request` in `browser`; when the form shows, signs in as `username`. Returns the
    /// final redirect (to the client).
    func authorize(
        _ request: CodeRequest, browser: TestBrowser, username: String, password: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> HTTPReply {
        let first = try await browser.request(authorizeURL(request))
        if first.status == 302 { return first }
        try #require(first.status == 200, "authorize answered \(first.status): \(first.text)", sourceLocation: sourceLocation)
        return try await browser.request(
            baseURL + HubPath.login, method: .POST,
            form: hiddenFields(first.text) + [("username", username), ("password", password)])
    }

    /// The whole code flow in `browser` (the form only if the hub shows it), through to the
    /// token response, which must succeed.
    func signIn(
        _ request: CodeRequest, browser: TestBrowser, username: String, password: String, secret: String?,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> IssuedTokens {
        let redirect = try await authorize(request, browser: browser, username: username, password: password, sourceLocation: sourceLocation)
        let reply = try await exchange(try code(of: redirect, request, sourceLocation: sourceLocation), request, secret: secret)
        return try Self.tokens(reply, "sign-in of \(username) at \(request.client)", sourceLocation: sourceLocation)
    }

    /// The code of a successful authorization redirect, after checking `state` and `iss`.
    func code(of reply: HTTPReply, _ request: CodeRequest, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try #require(reply.status == 302, "expected a redirect, got \(reply.status): \(reply.text)", sourceLocation: sourceLocation)
        let location = try #require(reply.header("Location"), sourceLocation: sourceLocation)
        #expect(location.hasPrefix(request.redirectURI + "?"), sourceLocation: sourceLocation)
        let items = queryItems(location)
        #expect(items["state"] == request.state, sourceLocation: sourceLocation)
        #expect(items["iss"] == configuration.issuer, sourceLocation: sourceLocation)
        return try #require(items["code"], "no code in \(location)", sourceLocation: sourceLocation)
    }

    /// The token request of the code grant.
    func exchange(
        _ code: String, _ request: CodeRequest, secret: String?, verifier: String? = nil, redirectURI: String? = nil
    ) async throws -> HTTPReply {
        var form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI ?? request.redirectURI)]
        if let v = verifier ?? request.verifier { form.append(("code_verifier", v)) }
        if let secret { return try await post(HubPath.token, form: form, basic: (request.client, secret)) }
        return try await post(HubPath.token, form: form + [("client_id", request.client)])
    }

    /// Claims of an ID token, verified against the hub's JWKS for `audience`.
    func idTokenClaims(_ token: String, audience: String) async throws -> JWTClaims {
        let jwks = try await get(HubPath.jwks)
        let keys = try VerificationKeys(jwks: JWKSet(jsonBytes: jwks.body))
        return try JWTValidator(configuration: .init(issuer: configuration.issuer, audience: audience, requiredType: "JWT"), keys: keys)
            .validate(token).claims
    }
}
