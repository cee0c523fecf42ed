import HallpassCrypto
import HallpassJOSE
import HTTPTypes
import Hummingbird
import NIOCore

/// The hub's cookies: the browser session and the login form's CSRF token.
///
/// Both are `HttpOnly; SameSite=Lax; Path=/`, and `Secure` when the issuer is https; then
/// their names carry the `__Host-` prefix, which browsers honor only with `Secure`, `Path=/`
/// and no `Domain`, so no sibling host can plant or overwrite them.
struct HubCookies: Sendable {
    let secure: Bool

    init(issuer: String) { secure = issuer.hasPrefix("https://") }

    var session: String { secure ? "__Host-hallpass" : "hallpass_session" }
    var csrf: String { secure ? "__Host-hallpass-csrf" : "hallpass_csrf" }

    /// A `Set-Cookie` value; `maxAge` 0 deletes the cookie, `nil` makes a browser-session cookie.
    func set(_ name: String, _ value: String, maxAge: Int? = nil) -> HTTPField {
        var text = "\(name)=\(value); Path=/; HttpOnly; SameSite=Lax"
        if secure { text += "; Secure" }
        if let maxAge { text += "; Max-Age=\(maxAge)" }
        return HTTPField(name: .setCookie, value: text)
    }

    /// The value of cookie `name` in the request, if sent exactly once.
    static func value(_ name: String, in request: Request) -> String? {
        CookieHeader.value(name, in: request.headers[values: .cookie])
    }
}

/// HTML pages of the hub: the login form and plain message pages. Every interpolated value is
/// escaped; pages are `no-store` and may not be framed (clickjacking).
enum Page {
    static let frameOptions = HTTPField.Name("X-Frame-Options")!
    static let contentSecurityPolicy = HTTPField.Name("Content-Security-Policy")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    static func html(_ status: HTTPResponse.Status, title: String, body: String, headers: [HTTPField] = [], wide: Bool = false) -> Response {
        let document = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · Hallpass</title>
            <style>
            body{font-family:system-ui,sans-serif;background:#f3f4f8;color:#1d2130;margin:0}
            main{max-width:\(wide ? 760 : 380)px;margin:8vh auto;background:#fff;padding:32px;border-radius:12px;box-shadow:0 2px 12px #0001}
            h1{font-size:1.4rem;margin:0 0 8px}
            p.sub{color:#5a6072;margin:0 0 20px}
            label{display:block;font-weight:600;margin:14px 0 6px}
            input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:10px;border:1px solid #c7cbd6;border-radius:8px;font-size:1rem}
            button{margin-top:22px;width:100%;padding:11px;border:0;border-radius:8px;background:#3b5bdb;color:#fff;font-size:1rem;cursor:pointer}
            .error{background:#fdecec;color:#8a1c1c;border:1px solid #f3b9b9;padding:10px;border-radius:8px}
            .notice{background:#eaf6ec;color:#1d5b2a;border:1px solid #b5dcbd;padding:10px;border-radius:8px}
            h2{font-size:1.1rem;margin:28px 0 8px}
            table{border-collapse:collapse;width:100%;font-size:.92rem}
            th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e3e5ec;vertical-align:top}
            button.inline{width:auto;margin:0;padding:6px 12px}
            a{color:#3b5bdb}
            a:focus,button:focus,input:focus{outline:3px solid #91a7ff;outline-offset:2px}
            code.secret{font-size:1.05rem;letter-spacing:.05em;word-break:break-all}
            ol.codes{font-family:ui-monospace,monospace;font-size:1.05rem;line-height:1.6}
            ol.codes li{white-space:nowrap}
            .qr{display:block;margin:12px auto;width:220px;height:220px}
            .qr svg{width:100%;height:100%}
            </style></head>
            <body><main>
            \(body)
            </main></body></html>
            """
        var fields = HTTPFields()
        fields[.contentType] = "text/html; charset=utf-8"
        fields[.cacheControl] = "no-store"
        fields[Self.frameOptions] = "DENY"
        // No `form-action`: Chromium applies it to the redirect that answers the form's POST, so
        // `'self'` would block the redirect back to the app's (other-origin) redirect URI.
        fields[Self.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
        fields[Self.referrerPolicy] = "no-referrer"
        for header in headers { fields.append(header) }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
    }

    /// A page with a heading and one message.
    static func message(_ status: HTTPResponse.Status, title: String, message: String, headers: [HTTPField] = []) -> Response {
        html(status, title: title, body: "<h1>\(escape(title))</h1>\n<p>\(escape(message))</p>", headers: headers)
    }

    /// Asks the user to confirm signing out (a sign-out request that names no session).
    static func confirmLogout(action: String, hidden: [(String, String)]) -> Response {
        var body = "<h1>Sign out?</h1>\n<p class=\"sub\">This signs you out of every application that uses this hub.</p>\n"
        body += "<form method=\"post\" action=\"\(escape(action))\">\n"
        for (name, value) in hidden {
            body += "<input type=\"hidden\" name=\"\(escape(name))\" value=\"\(escape(value))\">\n"
        }
        body += "<button type=\"submit\">Sign out</button>\n</form>"
        return html(.ok, title: "Sign out", body: body)
    }

    /// The login form. `hidden` carries the authorization request to the form's `POST`.
    static func login(
        _ status: HTTPResponse.Status, action: String, clientID: String, hidden: [(String, String)], error: String?,
        username: String, headers: [HTTPField]
    ) -> Response {
        signIn(
            status, action: action, subtitle: "to continue to <strong>\(escape(clientID))</strong>", hidden: hidden, error: error,
            username: username, headers: headers)
    }

    /// A username and password form: every sign-in page of the hub (the login form, the
    /// device page). `subtitle` is HTML, already escaped.
    static func signIn(
        _ status: HTTPResponse.Status, action: String, subtitle: String, hidden: [(String, String)], error: String?,
        username: String, headers: [HTTPField]
    ) -> Response {
        var body = "<h1>Sign in</h1>\n<p class=\"sub\">\(subtitle)</p>\n"
        if let error { body += "<p class=\"error\" role=\"alert\">\(escape(error))</p>\n" }
        body += "<form method=\"post\" action=\"\(escape(action))\">\n"
        for (name, value) in hidden {
            body += "<input type=\"hidden\" name=\"\(escape(name))\" value=\"\(escape(value))\">\n"
        }
        body += """
            <label for="username">Username</label>
            <input type="text" id="username" name="username" value="\(escape(username))" autocomplete="username" autofocus required>
            <label for="password">Password</label>
            <input type="password" id="password" name="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button>
            </form>
            """
        return html(status, title: "Sign in", body: body, headers: headers)
    }
}

/// Percent-encoding for query components (RFC 3986 unreserved characters kept).
func queryEncode(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        if PKCE.isUnreserved(byte) {
            out.append(Character(Unicode.Scalar(byte)))
        } else {
            let hex = Array("0123456789ABCDEF".utf8)
            out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
        }
    }
    return out
}

extension Page {
    /// The `Retry-After` of a throttled page (429): every throttled answer carries one
    /// (CONTRACT section 4), pages as well as JSON, so a client knows when to come back.
    static func retryAfter(_ seconds: Int64) -> HTTPField {
        HTTPField(name: .retryAfter, value: String(seconds))
    }
}
