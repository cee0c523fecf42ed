import HTTPTypes
import Hummingbird

/// The pages of a second factor: the code form, the set-up (QR code, secret, confirming
/// code) and the recovery codes shown once. Every value is escaped; the QR code is inline SVG
/// made on the server, so the page needs no script and no image request.
extension Page {
    /// The form a user with a second factor enters a code in (CONTRACT section 9: input `otp`).
    static func secondFactor(
        _ status: HTTPResponse.Status, action: String, hidden: [(String, String)], error: String?, headers: [HTTPField]
    ) -> Response {
        var body = "<h1>Two-step verification</h1>\n"
        body += "<p class=\"sub\">Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>\n"
        if let error { body += "<p class=\"error\" role=\"alert\">\(escape(error))</p>\n" }
        body += "<form method=\"post\" action=\"\(escape(action))\">\n" + hiddenInputs(hidden)
        body += """
            <label for="otp">Code</label>
            <input type="text" id="otp" name="otp" autocomplete="one-time-code" autocapitalize="off" spellcheck="false" maxlength="64" autofocus required>
            <button type="submit">Verify</button>
            </form>
            """
        return html(status, title: "Two-step verification", body: body, headers: headers)
    }

    /// Setting up TOTP: the QR code of the `otpauth://` URI, the secret as text (`id="totp-secret"`)
    /// for typing in, and the confirming code (input `otp`).
    static func enrollment(
        _ status: HTTPResponse.Status, action: String, hidden: [(String, String)], offer: EnrollmentOffer, error: String?,
        intro: String, headers: [HTTPField]
    ) -> Response {
        var body = "<h1>Set up two-step verification</h1>\n<p class=\"sub\">\(escape(intro))</p>\n"
        if let error { body += "<p class=\"error\" role=\"alert\">\(escape(error))</p>\n" }
        body += "<p>1. Scan this code with an authenticator app (such as FreeOTP, Aegis or Google Authenticator):</p>\n"
        // The SVG is ours (libqrencode's modules drawn as one path); its title is escaped there.
        body += "<div class=\"qr\">\(offer.qrSVG)</div>\n"
        body += "<p>Or type this key into the app: <code class=\"secret\" id=\"totp-secret\">\(escape(offer.secretText))</code></p>\n"
        body += "<form method=\"post\" action=\"\(escape(action))\">\n" + hiddenInputs(hidden)
        body += """
            <label for="otp">2. Enter the 6-digit code the app shows</label>
            <input type="text" id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" pattern="[0-9]{6}" required>
            <button type="submit">Turn on two-step verification</button>
            </form>
            """
        return html(status, title: "Set up two-step verification", body: body, headers: headers)
    }

    /// The ten recovery codes, shown this once, and the way on.
    static func recoveryCodes(_ codes: [String], next: String, nextLabel: String, headers: [HTTPField]) -> Response {
        var body = "<h1>Save your recovery codes</h1>\n"
        body += "<p class=\"sub\">Each code signs you in once if you lose your authenticator. Keep them somewhere safe: "
        body += "they are shown only now.</p>\n<ol class=\"codes\" id=\"recovery-codes\">\n"
        for code in codes { body += "<li><code>\(escape(code))</code></li>\n" }
        body += "</ol>\n<p><a id=\"continue\" href=\"\(escape(next))\">\(escape(nextLabel))</a></p>"
        return html(.ok, title: "Recovery codes", body: body, headers: headers)
    }

    static func hiddenInputs(_ hidden: [(String, String)]) -> String {
        hidden.map { "<input type=\"hidden\" name=\"\(escape($0.0))\" value=\"\(escape($0.1))\">\n" }.joined()
    }
}
