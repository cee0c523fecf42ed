import HallpassStore
import HTTPTypes
import Hummingbird

extension Page {
    /// The account page: sessions, password, second factor. Usable by keyboard and screen
    /// reader: headings per part, labelled inputs, a caption on the table, buttons whose
    /// accessible names say which session they end; no script.
    static func account(
        _ status: HTTPResponse.Status, user: UserRecord, sessions: [SessionRecord], current: String, recoveryCodesLeft: Int?,
        csrf: String, notice: String?, error: String?, headers: [HTTPField]
    ) -> Response {
        let token = hiddenInputs([("csrf", csrf)])
        var body = "<h1>Your account</h1>\n<p class=\"sub\">Signed in as <strong>\(escape(user.username))</strong></p>\n"
        if let notice { body += "<p class=\"notice\" role=\"status\">\(escape(notice))</p>\n" }
        if let error { body += "<p class=\"error\" role=\"alert\">\(escape(error))</p>\n" }

        body += "<h2 id=\"sessions\">Where you are signed in</h2>\n"
        body += "<table aria-labelledby=\"sessions\">\n<thead><tr><th scope=\"col\">Device</th><th scope=\"col\">IP address</th>"
        body += "<th scope=\"col\">Signed in</th><th scope=\"col\">Last active</th><th scope=\"col\">Apps</th><th scope=\"col\"><span class=\"sub\">Action</span></th></tr></thead>\n<tbody>\n"
        let ordered = sessions.sorted { ($0.id == current ? 0 : 1, -$0.lastSeen) < ($1.id == current ? 0 : 1, -$1.lastSeen) }
        for session in ordered {
            let device = session.userAgent.isEmpty ? "Unknown device" : session.userAgent
            let isCurrent = session.id == current
            body += "<tr\(isCurrent ? " class=\"current\" aria-current=\"true\"" : "") data-sid=\"\(escape(session.id))\">"
            body += "<td>\(escape(device))\(isCurrent ? " <strong>(this browser)</strong>" : "")</td>"
            body += "<td>\(escape(session.remoteAddress))</td><td>\(UTCTime.format(seconds: session.authTime))</td>"
            body += "<td>\(UTCTime.format(seconds: session.lastSeen / 1000))</td>"
            body += "<td>\(session.clients.isEmpty ? "none yet" : escape(session.clients.joined(separator: ", ")))</td><td>"
            body += "<form method=\"post\" action=\"\(AccountEndpoints.sessionsPath)\">\(token)"
            body += "<input type=\"hidden\" name=\"end\" value=\"\(escape(session.id))\">"
            let label = isCurrent ? "Sign out here" : "End"
            body += "<button class=\"inline\" type=\"submit\" aria-label=\"\(label): \(escape(device)), signed in \(UTCTime.format(seconds: session.authTime))\">\(label)</button></form></td></tr>\n"
        }
        body += "</tbody></table>\n"
        if sessions.count > 1 {
            body += "<form method=\"post\" action=\"\(AccountEndpoints.sessionsPath)\">\(token)"
            body += "<input type=\"hidden\" name=\"end\" value=\"others\"><button type=\"submit\">End every other session</button></form>\n"
        }

        body += "<h2>Password</h2>\n<form method=\"post\" action=\"\(AccountEndpoints.passwordPath)\">\(token)"
        body += """
            <label for="current_password">Current password</label>
            <input type="password" id="current_password" name="current_password" autocomplete="current-password" required>
            <label for="new_password">New password (8 characters or more)</label>
            <input type="password" id="new_password" name="new_password" autocomplete="new-password" minlength="8" required>
            <label><input type="checkbox" name="end_others" value="1" checked> Sign out my other sessions</label>
            <button type="submit">Change password</button></form>

            """

        body += "<h2>Two-step verification</h2>\n"
        if let left = recoveryCodesLeft {
            body += "<p>On: an authenticator app code is asked for after your password. Recovery codes left: \(left).</p>\n"
            for (action, label) in [(AccountEndpoints.recoveryCodesPath, "Get new recovery codes"), (AccountEndpoints.turnOffPath, "Turn off two-step verification")] {
                let id = action == AccountEndpoints.turnOffPath ? "otp-off" : "otp-codes"
                body += "<form method=\"post\" action=\"\(action)\">\(token)"
                body += "<label for=\"\(id)\">Current code (for: \(escape(label.lowercased())))</label>"
                body += "<input type=\"text\" id=\"\(id)\" name=\"otp\" autocomplete=\"one-time-code\" maxlength=\"64\" required>"
                body += "<button type=\"submit\">\(label)</button></form>\n"
            }
        } else {
            body += "<p>Off. Add a code from an app on your phone to every sign-in.</p>\n"
            body += "<form method=\"post\" action=\"\(AccountEndpoints.setUpPath)\">\(token)<button type=\"submit\">Set up two-step verification</button></form>\n"
        }
        body += "<p><a href=\"\(Paths.endSession)\">Sign out everywhere this browser is signed in</a></p>"
        return html(status, title: "Your account", body: body, headers: headers, wide: true)
    }
}

/// A short, readable name for a browser or program from its `User-Agent` ("Chrome on Linux"),
/// which the hub stores with a session instead of the header: a session hash keeps at most 64
/// bytes of it (to stay a compact listpack), and the first 64 bytes of a browser's header name
/// neither the browser nor, often, the system. Only for showing; nothing depends on it. A
/// header it does not recognize is kept as sent (the store cuts it).
enum UserAgentSummary {
    static func describe(_ userAgent: String) -> String {
        guard !userAgent.isEmpty else { return "" }
        let browsers: [(String, String)] = [
            ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("HeadlessChrome/", "Headless Chrome"), ("Chrome/", "Chrome"),
            ("Chromium/", "Chromium"), ("Safari/", "Safari"), ("curl/", "curl"), ("python-requests/", "Python requests"),
            ("AsyncHTTPClient", "Swift AsyncHTTPClient"),
        ]
        let systems: [(String, String)] = [
            ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"), ("Mac OS X", "macOS"),
            ("CrOS", "ChromeOS"), ("Linux", "Linux"),
        ]
        let browser = browsers.first { userAgent.contains($0.0) }?.1
        let system = systems.first { userAgent.contains($0.0) }?.1
        switch (browser, system) {
        case let (browser?, system?): return "\(browser) on \(system)"
        case let (browser?, nil): return browser
        case let (nil, system?): return system
        case (nil, nil): return userAgent
        }
    }
}

/// Unix times as `YYYY-MM-DD HH:MM UTC`, without Foundation (civil-from-days, H. Hinnant).
enum UTCTime {
    static func format(seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)) UTC"
    }
}
