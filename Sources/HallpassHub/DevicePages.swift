import HTTPTypes
import Hummingbird

/// The verification pages of the device authorization grant (RFC 8628 section 3.3), in the
/// login page's layout. Every form works without script, every input has a label, and every
/// interpolated value is escaped.
extension Page {
    /// Asks for the code the device shows.
    static func deviceCode(
        _ status: HTTPResponse.Status, action: String, csrf: String, typed: String, error: String?, headers: [HTTPField]
    ) -> Response {
        var body = "<h1>Connect a device</h1>\n<p class=\"sub\">Enter the code shown on your device.</p>\n"
        if let error { body += "<p class=\"error\" role=\"alert\">\(escape(error))</p>\n" }
        body += "<form method=\"post\" action=\"\(escape(action))\">\n"
        body += hidden([("csrf", csrf)])
        body += """
            <label for="user_code">Code</label>
            <input type="text" id="user_code" name="user_code" value="\(escape(typed))" placeholder="XXXX-XXXX" maxlength="32" \
            autocomplete="off" autocapitalize="characters" spellcheck="false" autofocus required>
            <button type="submit">Continue</button>
            </form>
            """
        return html(status, title: "Connect a device", body: body, headers: headers)
    }

    /// Asks a user without a hub session to sign in first.
    static func deviceSignIn(
        _ status: HTTPResponse.Status, action: String, csrf: String, userCode: String, clientID: String, error: String?,
        username: String, headers: [HTTPField]
    ) -> Response {
        signIn(
            status, action: action, subtitle: "to connect <strong>\(escape(clientID))</strong> (code \(escape(userCode)))",
            hidden: [("csrf", csrf), ("user_code", userCode)], error: error, username: username, headers: headers)
    }

    /// Shows who asks for what and offers Approve and Deny: one form, two submit buttons.
    static func deviceConfirm(
        action: String, csrf: String, userCode: String, clientID: String, scope: String, username: String, headers: [HTTPField]
    ) -> Response {
        var body = "<h1>Connect this device?</h1>\n"
        body += "<p class=\"sub\"><strong>\(escape(clientID))</strong> asks to sign in as <strong>\(escape(username))</strong> and to use:</p>\n<ul>\n"
        for value in scope.split(separator: " ") {
            body += "<li>\(escape(describe(scope: String(value))))</li>\n"
        }
        body += "</ul>\n<p>Approve only if your own device shows the code <strong>\(escape(userCode))</strong>.</p>\n"
        body += "<form method=\"post\" action=\"\(escape(action))\">\n"
        body += hidden([("csrf", csrf), ("user_code", userCode)])
        body += """
            <button type="submit" name="decision" value="approve">Approve</button>
            <button type="submit" name="decision" value="deny" style="background:#fff;color:#3b5bdb;border:1px solid #3b5bdb">Deny</button>
            </form>
            """
        return html(.ok, title: "Connect this device?", body: body, headers: headers)
    }

    /// What a scope lets the client see, in words.
    static func describe(scope: String) -> String {
        switch scope {
        case "openid": "who you are (your user id)"
        case "profile": "your username and name"
        case "email": "your email address"
        case "offline_access": "access while you are away"
        default: scope
        }
    }

    private static func hidden(_ fields: [(String, String)]) -> String {
        fields.map { "<input type=\"hidden\" name=\"\(escape($0.0))\" value=\"\(escape($0.1))\">\n" }.joined()
    }
}
