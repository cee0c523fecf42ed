import Foundation
import Hallpass

/// The HTML of a sample app. Stable ids for tests: `signed-out`, `signed-in`, `username`,
/// `sub`, `sid`, `scopes`, `expires`, `sign-in`, `sign-out`, `peer-NAME`, `notice`, `error`,
/// `amr`, `acr`, `account`, `invoices-link`, `invoices`, `step-up-refused`.
struct Pages: Sendable {
    let settings: SampleAppSettings
    /// The hub's issuer URL (from discovery): its account page is `<issuer>/account`.
    let issuer: String
    var profile: AppProfile { settings.profile }
    var accountURL: String { (issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer) + "/account" }

    /// The signed-out home: a sign-in button, and why the user is signed out when known.
    func signedOut(notice: String? = nil) -> String {
        let noticeHTML = notice.map { "<p class=\"notice\" id=\"notice\">\(escape($0))</p>" } ?? ""
        return page(
            """
            <section id="signed-out" class="card">
              <h2>You are signed out</h2>
              \(noticeHTML)
              <p>\(escape(profile.purpose))</p>
              <p><a class="button" id="sign-in" href="/login">Sign in with Hallpass</a></p>
            </section>
            \(peerLinks())
            """)
    }

    /// The signed-in page: who you are, the app's content, links to the other apps, sign-out.
    func signedIn(_ session: AppSession, identity: Identity, now: Double) -> String {
        let scopes = identity.scopes, expiresAt = identity.expiresAt
        let methods = identity.authenticationMethods.isEmpty ? "–" : identity.authenticationMethods.joined(separator: " + ")
        let username = session.username ?? session.subject
        let remaining = max(0, Int(expiresAt - now))
        let expiry = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: expiresAt))
        let items = profile.items.map { "<li><strong>\(escape($0.title))</strong> <span>\(escape($0.detail))</span></li>" }.joined()
        let invoicesLink =
            profile.invoices.isEmpty
            ? "" : #"<p><a class="button" id="invoices-link" href="/invoices">All invoices</a> <span class="hint">asks for your second factor</span></p>"#
        return page(
            """
            <section id="signed-in" class="card" data-username="\(escape(username))">
              <h2>Hello, <span id="username">\(escape(username))</span></h2>
              <dl>
                <dt>Name</dt><dd id="name">\(escape(session.name ?? "–"))</dd>
                <dt>Subject (sub)</dt><dd id="sub"><code>\(escape(session.subject))</code></dd>
                <dt>Hub session (sid)</dt><dd id="sid"><code>\(escape(session.hubSessionID ?? "–"))</code></dd>
                <dt>Scopes</dt><dd id="scopes">\(escape(scopes.joined(separator: " ")))</dd>
                <dt>Signed in with (amr)</dt><dd id="amr">\(escape(methods))</dd>
                <dt>Level (acr)</dt><dd id="acr">\(escape(identity.authenticationContext ?? "–"))</dd>
                <dt>Access token expires</dt><dd id="expires">\(escape(expiry)) (in \(remaining) s; refreshed \(session.refreshes)×)</dd>
              </dl>
              <p>\(accountLink())</p>
              <form method="post" action="/logout">
                <input type="hidden" name="csrf" value="\(escape(session.csrfToken))">
                <button type="submit" id="sign-out">Sign out</button>
              </form>
            </section>
            <section class="card">
              <h2>\(escape(profile.contentHeading))</h2>
              <ul class="items">\(items)</ul>
              \(invoicesLink)
            </section>
            \(peerLinks())
            """)
    }

    /// The invoices of the signed-in user, shown only after a second factor; `id="invoices"`.
    func invoices(_ session: AppSession, identity: Identity) -> String {
        let username = session.username ?? session.subject
        let rows = profile.invoices.map { invoice in
            "<tr><td><code>\(escape(invoice.number))</code></td><td>\(escape(invoice.issued))</td><td>\(escape(invoice.item))</td>"
                + "<td class=\"amount\">\(escape(invoice.amount))</td><td class=\"status-\(escape(invoice.status))\">\(escape(invoice.status))</td></tr>"
        }.joined()
        let how = identity.authenticationMethods.isEmpty ? "–" : identity.authenticationMethods.joined(separator: " + ")
        return page(
            """
            <section id="invoices" class="card" data-username="\(escape(username))">
              <h2>Invoices for \(escape(username))</h2>
              <table>
                <thead><tr><th>Number</th><th>Issued</th><th>For</th><th>Amount</th><th>Status</th></tr></thead>
                <tbody>\(rows)</tbody>
              </table>
              <p class="hint">Shown because you signed in with a second factor (\(escape(how))).</p>
              <p><a class="button" href="/">Back to \(escape(profile.title))</a> \(accountLink())</p>
            </section>
            """)
    }

    /// The page for a step-up the hub did not grant: it answered an error, or signed the user
    /// in without the second factor asked for. The app session stays; `id="step-up-refused"`.
    func stepUpRefused(_ message: String) -> String {
        page(
            """
            <section id="step-up-refused" class="card">
              <h2>A second factor is needed</h2>
              <p class="notice" id="notice">\(escape(message))</p>
              <p>Set up a second factor (an authenticator app) on your Hallpass account page, then try again.</p>
              <p><a class="button" href="/">Back to \(escape(profile.title))</a> \(accountLink())</p>
            </section>
            """)
    }

    /// The link to the user's own page at the hub: sessions, password, second factor.
    private func accountLink() -> String {
        "<a id=\"account\" class=\"account\" href=\"\(escape(accountURL))\">Your account and sessions at Hallpass</a>"
    }

    /// An error page (a refused login, the hub unreachable); `id="error"`.
    func error(_ message: String) -> String {
        page(
            """
            <section id="error" class="card">
              <h2>Something went wrong</h2>
              <p>\(escape(message))</p>
              <p><a class="button" href="/">Back to \(escape(profile.title))</a></p>
            </section>
            """)
    }

    private func peerLinks() -> String {
        let links = settings.peers.map { peer in
            let title = AppProfile.all.first { $0.name == peer.name }?.title ?? peer.name
            return "<a class=\"peer\" id=\"peer-\(escape(peer.name))\" href=\"\(escape(peer.url))/\">\(escape(title))</a>"
        }.joined(separator: " ")
        return "<nav class=\"card\" id=\"peers\"><h2>Other apps</h2>\(links)</nav>"
    }

    private func page(_ body: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(profile.title))</title>
        <style>
          body { margin: 0; font-family: system-ui, sans-serif; background: \(profile.background); color: #1d232b; }
          header { background: \(profile.colour); color: white; padding: 18px 32px; }
          header h1 { margin: 0; font-size: 26px; }
          header p { margin: 4px 0 0; opacity: .9; }
          main { max-width: 760px; margin: 24px auto; padding: 0 16px; }
          .card { background: white; border-radius: 10px; padding: 18px 24px; margin-bottom: 16px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
          .card h2 { margin-top: 0; color: \(profile.colour); font-size: 20px; }
          dl { display: grid; grid-template-columns: 190px 1fr; gap: 6px 12px; }
          dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
          .button, button { display: inline-block; background: \(profile.colour); color: white; border: 0; border-radius: 6px;
            padding: 10px 18px; font-size: 16px; text-decoration: none; cursor: pointer; }
          .peer { display: inline-block; margin-right: 16px; color: \(profile.colour); font-weight: 600; }
          .notice { background: #fff4d6; border-left: 4px solid #e0a800; padding: 8px 12px; }
          .items li { margin: 6px 0; } .items span { color: #5a6470; margin-left: 8px; }
          .account { color: \(profile.colour); font-weight: 600; } .hint { color: #5a6470; }
          table { width: 100%; border-collapse: collapse; } th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e4e7eb; }
          td.amount { text-align: right; font-variant-numeric: tabular-nums; } .status-due { color: #b4541a; font-weight: 600; }
        </style>
        </head>
        <body>
        <header><h1>\(profile.symbol) \(escape(profile.title))</h1><p>\(escape(profile.purpose))</p></header>
        <main>
        \(body)
        </main>
        </body>
        </html>
        """
    }
}

/// Text safe inside HTML content and double-quoted attributes.
func escape(_ text: String) -> String {
    var result = ""
    result.reserveCapacity(text.utf8.count)
    for character in text {
        switch character {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&quot;"
        case "'": result += "&#39;"
        default: result.append(character)
        }
    }
    return result
}
