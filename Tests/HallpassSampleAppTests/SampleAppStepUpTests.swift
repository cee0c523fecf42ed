import AsyncHTTPClient
import Foundation
import HallpassJOSE
import HallpassSampleApp
import HallpassTestSupport
import NIOCore
import Testing

/// The billing app's invoices behind a second factor, and `/api/me`'s authentication claims,
/// against the real hub binary. What needs the hub's second factor (the step-up through a
/// browser) is tested end to end elsewhere; this is what holds with or without it.
@Suite("Sample app: invoices behind a second factor (RFC 9470), /api/me's amr, acr, auth_time", .serialized)
struct SampleAppStepUpTests {
    @Test("/api/invoices answers the exact insufficient_user_authentication challenge; /invoices sends the browser to the hub with acr_values=mfa; a refused step-up gets a page")
    func stepUp() async throws {
        let stack = try await SampleAppStack.start(apps: ["billing"])
        // Redirects are looked at, not followed.
        let manual = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
        do {
            try await checkAPI(stack)
            try await checkPage(stack, manual)
            try await checkBrowser(stack, manual)
        } catch {
            Issue.record("\(error)\n\(stack.logs())")
        }
        try? await manual.shutdown()
        await stack.stop()
    }

    private func checkAPI(_ stack: SampleAppStack) async throws {
        let billing = stack.app("billing")
        let tokens = try await stack.passwordLogin(client: "billing")
        let accessToken = try #require(tokens["access_token"]?.stringValue)
        let now = Date().timeIntervalSince1970

        // /api/me: the section 7 fields, and how the user authenticated when the token says.
        let me = try await HTTP.get(billing.baseURL + "/api/me", bearer: accessToken)
        #expect(me.status == 200, "\(me.text)")
        let identity = try #require(me.json)
        for name in ["sub", "username", "sid", "client_id", "exp"] { #expect(identity[name] != nil, "\(name)") }
        #expect(identity["sub"]?.stringValue == stack.userID)
        let authTime = try #require(identity["auth_time"]?.integerValue, "the hub's access tokens carry auth_time")
        #expect(Double(authTime) > now - 60 && Double(authTime) <= now + 5)
        // amr and acr appear once the hub sends them, and then say "password only".
        if let amr = identity["amr"] { #expect(amr == ["pwd"]) }
        if let acr = identity["acr"] { #expect(acr == "pwd") }

        // /api/invoices: the token has no second factor.
        let refused = try await HTTP.get(billing.baseURL + "/api/invoices", bearer: accessToken)
        #expect(refused.status == 401)
        #expect(
            refused.header("WWW-Authenticate")
                == #"Bearer realm="billing", error="insufficient_user_authentication", error_description="A second factor is required", acr_values="mfa", max_age="600""#)
        #expect(refused.json?["error"]?.stringValue == "insufficient_user_authentication")
        #expect(refused.json?["acr_values"]?.stringValue == "mfa")
        #expect(refused.json?["max_age"] == .integer(600))
        #expect(refused.header("Cache-Control") == "no-store")
        let anonymous = try await HTTP.get(billing.baseURL + "/api/invoices")
        #expect(anonymous.status == 401)
        #expect(anonymous.header("WWW-Authenticate") == #"Bearer realm="billing""#)
        let garbage = try await HTTP.get(billing.baseURL + "/api/invoices", bearer: "not.a.token")
        #expect(garbage.header("WWW-Authenticate")?.contains(#"error="invalid_token""#) == true)
    }

    private func checkPage(_ stack: SampleAppStack, _ manual: HTTPClient) async throws {
        let billing = stack.app("billing")
        let discovery = try await HTTP.get(stack.hub.baseURL + "/.well-known/openid-configuration")
        let issuer = try #require(discovery.json?["issuer"]?.stringValue)
        let authorizationEndpoint = try #require(discovery.json?["authorization_endpoint"]?.stringValue)

        // Signed out (and likewise signed in without a second factor): to the hub, asking for one.
        let start = try await HTTP.execute(HTTPClientRequest(url: billing.baseURL + "/invoices"), client: manual)
        #expect(start.status == 303)
        let location = try #require(start.header("Location"))
        #expect(location.hasPrefix(authorizationEndpoint + "?"), "\(location)")
        let query = try #require(FormEncoding.decode(Array(location.utf8.drop { $0 != UInt8(ascii: "?") }.dropFirst())))
        #expect(query["acr_values"] == "mfa")
        #expect(query["max_age"] == "600")
        #expect(query["client_id"] == "billing")
        #expect(query["response_type"] == "code")
        #expect(query["redirect_uri"] == billing.baseURL + "/callback")
        #expect(query["code_challenge_method"] == "S256")
        #expect(query["code_challenge"]?.isEmpty == false)
        #expect(query["nonce"]?.isEmpty == false)
        let state = try #require(query["state"])
        #expect(state.utf8.count >= 43, "256 random bits")
        let setCookie = try #require(start.header("Set-Cookie"))
        #expect(setCookie.hasPrefix("hallpass_billing_login="))
        let loginCookie = String(setCookie.prefix { $0 != ";" })

        // The hub takes the request: its sign-in page, not an error.
        let hubPage = try await HTTP.execute(HTTPClientRequest(url: location), client: manual)
        #expect(hubPage.status == 200, "\(hubPage.status) \(hubPage.text.prefix(300))")

        // The hub answers that it cannot do the step-up: a clear page, the account link on it.
        func callback(_ parameters: [(String, String)], cookie: String?) async throws -> HTTP.Reply {
            var request = HTTPClientRequest(url: billing.baseURL + "/callback?" + FormEncoding.encode(parameters))
            if let cookie { request.headers.add(name: "Cookie", value: cookie) }
            return try await HTTP.execute(request, client: manual)
        }
        let wrongState = try await callback([("state", "not-the-state"), ("error", "access_denied")], cookie: loginCookie)
        #expect(wrongState.status == 400, "a state that is not this login's is refused")
        // The pending login was spent by that attempt (single use): start another.
        let again = try await HTTP.execute(HTTPClientRequest(url: billing.baseURL + "/invoices"), client: manual)
        let againLocation = try #require(again.header("Location"))
        let againState = try #require(FormEncoding.decode(Array(againLocation.utf8.drop { $0 != UInt8(ascii: "?") }.dropFirst()))?["state"])
        let againCookie = try #require(again.header("Set-Cookie")).prefix { $0 != ";" }
        #expect(againState != state)
        let unmet = try await callback(
            [("state", againState), ("error", "unmet_authentication_requirements"), ("error_description", "no second factor")],
            cookie: String(againCookie))
        #expect(unmet.status == 403)
        #expect(unmet.text.contains(#"id="step-up-refused""#), "\(unmet.text)")
        #expect(unmet.text.contains("Hallpass could not confirm a second factor (unmet_authentication_requirements)."))
        #expect(unmet.text.contains(#"href="\#(issuer)/account""#))
        #expect(unmet.text.contains("Your account and sessions at Hallpass"))
    }

    /// A browser through the hub's login form: `/invoices` signs in with a step-up request. A
    /// hub that ignores `acr_values` (today's) signs the user in without a second factor, and
    /// the app shows its page instead of sending the browser back in a loop; a hub that refuses
    /// (the user has no second factor) lands on the same page through the callback's `error`.
    private func checkBrowser(_ stack: SampleAppStack, _ manual: HTTPClient) async throws {
        let billing = stack.app("billing")
        var jar: [String: String] = [:]  // One host: the hub's and the app's cookies differ by name.
        func go(_ url: String, form: [(String, String)]? = nil) async throws -> HTTP.Reply {
            var request = HTTPClientRequest(url: url)
            if !jar.isEmpty { request.headers.add(name: "Cookie", value: jar.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
            if let form {
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: FormEncoding.encode(form)))
            }
            let reply = try await HTTP.execute(request, client: manual)
            for (name, value) in reply.headers where name.lowercased() == "set-cookie" {
                let pair = value.prefix { $0 != ";" }
                guard let equals = pair.firstIndex(of: "=") else { continue }
                let content = String(pair[pair.index(after: equals)...])
                jar[String(pair[..<equals])] = content.isEmpty || value.contains("Max-Age=0") ? nil : content
            }
            return reply
        }
        let start = try await go(billing.baseURL + "/invoices")
        let authorize = try #require(start.header("Location"))
        let form = try await go(authorize)
        try #require(form.status == 200, "the hub's login form: \(form.status)")
        let action = try #require(try Self.firstMatch(#"<form method="post" action="([^"]*)">"#, in: form.text))
        let hidden = try Self.hiddenFields(form.text)
        let signedIn = try await go(
            (action.hasPrefix("/") ? stack.hub.baseURL : "") + action, form: hidden + [("username", stack.username), ("password", stack.password)])
        guard let back = signedIn.header("Location"), back.hasPrefix(billing.baseURL + "/callback?") else {
            // The hub asks for the second factor itself (a form of its own): its part, tested with it.
            #expect(signedIn.status == 200, "\(signedIn.status) \(signedIn.text.prefix(300))")
            return
        }
        let landed = try await go(back)
        #expect(landed.status == 403, "\(landed.status) \(landed.text.prefix(300))")
        #expect(landed.text.contains(#"id="step-up-refused""#))
        if FormEncoding.decode(Array(back.utf8.drop { $0 != UInt8(ascii: "?") }.dropFirst()))?["error"] == nil {
            #expect(landed.text.contains("without the second factor this page needs"))
            // Signed in at the app all the same: the home page, with the account and invoices links.
            let home = try await go(billing.baseURL + "/")
            #expect(home.text.contains(#"id="signed-in""#))
            #expect(home.text.contains(#"id="account""#) && home.text.contains("Your account and sessions at Hallpass"))
            #expect(home.text.contains(#"id="invoices-link""#))
            #expect(home.text.contains(#"<dd id="amr">"#))
            // And /invoices asks the hub again rather than showing them.
            let again = try await go(billing.baseURL + "/invoices")
            #expect(again.status == 303)
            #expect(again.header("Location")?.contains("acr_values=mfa") == true)
        }
    }

    static func firstMatch(_ pattern: String, in text: String) throws -> String? {
        let expression = try NSRegularExpression(pattern: pattern)
        guard let match = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
            let range = Range(match.range(at: 1), in: text)
        else { return nil }
        return unescape(String(text[range]))
    }

    static func hiddenFields(_ html: String) throws -> [(String, String)] {
        let expression = try NSRegularExpression(pattern: #"<input type="hidden" name="([^"]*)" value="([^"]*)">"#)
        return expression.matches(in: html, range: NSRange(html.startIndex..., in: html)).compactMap { match in
            guard let name = Range(match.range(at: 1), in: html), let value = Range(match.range(at: 2), in: html) else { return nil }
            return (unescape(String(html[name])), unescape(String(html[value])))
        }
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}
