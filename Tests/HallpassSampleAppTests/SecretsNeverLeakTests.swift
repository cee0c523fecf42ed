import AsyncHTTPClient
import Foundation
import HallpassCrypto
import HallpassJOSE
import HallpassOTP
import HallpassSampleApp
import HallpassTestSupport
import NIOCore
import Synchronization
import Testing

/// Issue 19's "secrets never leak": a full flow with every kind of secret Hallpass handles
/// (passwords, client secrets, refresh and access tokens, authorization codes, a TOTP secret,
/// its codes and recovery codes), with the hub and the app logging at debug level, then a search
/// of every line the hub, the app and the CLI wrote, and of every error body, for each of them.
@Suite("Secrets never leak into logs or error bodies", .serialized)
struct SecretsNeverLeakTests {
    /// A cookie jar over a client that does not follow redirects: the hub's pages as a browser
    /// sees them.
    final class Browser: Sendable {
        let client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))
        let jar = Mutex<[String: String]>([:])

        func request(_ url: String, form: [(String, String)]? = nil) async throws -> HTTP.Reply {
            var request = HTTPClientRequest(url: url)
            let cookie = jar.withLock { $0.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
            if !cookie.isEmpty { request.headers.add(name: "Cookie", value: cookie) }
            if let form {
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: FormEncoding.encode(form)))
            }
            let reply = try await HTTP.execute(request, client: client)
            for (name, value) in reply.headers where name.lowercased() == "set-cookie" {
                let pair = value.split(separator: ";")[0]
                guard let equals = pair.firstIndex(of: "=") else { continue }
                let key = String(pair[..<equals]), content = String(pair[pair.index(after: equals)...])
                jar.withLock { $0[key] = content.isEmpty || value.contains("Max-Age=0") ? nil : content }
            }
            return reply
        }

        /// The first hidden `csrf` field of a page.
        static func csrf(_ html: String) throws -> (String, String) {
            let marker = #"name="csrf" value=""#
            let start = try #require(html.range(of: marker)).upperBound
            return ("csrf", String(html[start...].prefix { $0 != "\"" }))
        }

        static func value(after marker: String, in html: String) throws -> String {
            let start = try #require(html.range(of: marker), "no \(marker) in the page").upperBound
            return String(html[start...].prefix { $0 != "<" && $0 != "\"" })
        }
    }

    @Test("passwords, client secrets, tokens, codes, the TOTP secret and recovery codes appear in no log line and no error body")
    func noSecretInLogsOrErrors() async throws {
        let stack = try await SampleAppStack.start(apps: ["notes"], hubArguments: ["--log-level", "debug"])
        let browser = Browser()
        var secrets: [String: String] = ["user password": stack.password, "notes client secret": try #require(stack.secrets["notes"])]
        var errorBodies: [String] = []
        var cliErrors: [String] = []
        let hub = stack.hub.baseURL
        let notesSecret = try #require(stack.secrets["notes"])
        do {
            // The password grant, a refresh, and the failures around them.
            let login = try await stack.passwordLogin(client: "notes")
            let firstRefresh = try #require(login["refresh_token"]?.stringValue)
            secrets["first refresh token"] = firstRefresh
            secrets["first access token"] = login["access_token"]?.stringValue
            let refreshed = try await HTTP.post(
                hub + "/oauth2/token", form: [("grant_type", "refresh_token"), ("refresh_token", firstRefresh)], basic: ("notes", notesSecret))
            secrets["second refresh token"] = refreshed.json?["refresh_token"]?.stringValue
            for (form, basic) in [
                ([("grant_type", "password"), ("username", stack.username), ("password", stack.password + "x")], ("notes", notesSecret)),
                ([("grant_type", "password"), ("username", stack.username), ("password", stack.password)], ("notes", notesSecret + "x")),
                ([("grant_type", "refresh_token"), ("refresh_token", firstRefresh + "x")], ("notes", notesSecret)),
                ([("grant_type", "authorization_code"), ("code", firstRefresh), ("redirect_uri", "x")], ("notes", notesSecret)),
            ] {
                errorBodies.append(try await HTTP.post(hub + "/oauth2/token", form: form, basic: basic).text)
            }
            errorBodies.append(try await HTTP.post(hub + "/oauth2/introspect", form: [("token", firstRefresh)], basic: ("notes", notesSecret + "y")).text)
            errorBodies.append(try await HTTP.get(hub + "/oauth2/userinfo", bearer: firstRefresh).text)

            // The code flow through the hub's form, the code taken from the redirect.
            let verifier = Base64URL.encode(try SecureRandom.bytes(count: 32))
            let challenge = Base64URL.encode(Digest.sha256(Array(verifier.utf8)))
            let redirect = stack.app("notes").baseURL + "/callback"
            let authorize = hub + "/oauth2/authorize?response_type=code&client_id=notes&redirect_uri=" + FormEncoding.escape(redirect)
                + "&state=st1&code_challenge=" + challenge + "&code_challenge_method=S256&scope=openid"
            let form = try await browser.request(authorize)
            var fields = [try Browser.csrf(form.text), ("username", stack.username), ("password", stack.password)]
            for name in ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"] {
                fields.append((name, try Browser.value(after: #"name="\#(name)" value=""#, in: form.text).replacingOccurrences(of: "&amp;", with: "&")))
            }
            let back = try await browser.request(hub + "/oauth2/login", form: fields)
            let location = try #require(back.header("Location"))
            let code = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "code" }?.value)
            secrets["authorization code"] = code
            let exchanged = try await HTTP.post(
                hub + "/oauth2/token",
                form: [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier)],
                basic: ("notes", notesSecret))
            secrets["code-flow refresh token"] = exchanged.json?["refresh_token"]?.stringValue

            // TOTP at the account page: the secret, a code, the recovery codes; wrong codes.
            let account = try await browser.request(hub + "/account")
            let setUp = try await browser.request(hub + "/account/mfa/setup", form: [try Browser.csrf(account.text)])
            try #require(setUp.status == 200, "set-up answered \(setUp.status): \(setUp.text.prefix(600)); account: \(account.status) \(account.text.prefix(300))")
            let secretText = try Browser.value(after: #"id="totp-secret">"#, in: setUp.text)
            secrets["TOTP secret"] = secretText.replacingOccurrences(of: " ", with: "")
            secrets["TOTP secret (as shown)"] = secretText
            let totp = TOTP(secret: try #require(Base32.decode(secrets["TOTP secret"]!.lowercased())))
            let totpCode = totp.code(at: Int64(Date().timeIntervalSince1970))
            // (A wrong code shows the set-up page again, secret included: it is the user's own
            // page. A forged post, without the CSRF token, is an error and shows nothing.)
            let wrongCode = try await browser.request(hub + "/account/mfa/confirm", form: [try Browser.csrf(setUp.text), ("otp", "000000")])
            #expect(wrongCode.status == 401)
            errorBodies.append(try await browser.request(hub + "/account/mfa/confirm", form: [("otp", "000000")]).text)
            let codes = try await browser.request(hub + "/account/mfa/confirm", form: [try Browser.csrf(setUp.text), ("otp", totpCode)])
            #expect(codes.status == 200, "\(codes.text)")
            var rest = codes.text[...]
            var index = 0
            while let open = rest.range(of: "<li><code>"), let close = rest[open.upperBound...].range(of: "</code>") {
                secrets["recovery code \(index)"] = String(rest[open.upperBound..<close.lowerBound])
                index += 1
                rest = rest[close.upperBound...]
            }
            #expect(index == 10)
            // A password grant with a recovery code, and with wrong codes.
            let withRecovery = try await HTTP.post(
                hub + "/oauth2/token",
                form: [("grant_type", "password"), ("username", stack.username), ("password", stack.password), ("otp", try #require(secrets["recovery code 0"]))],
                basic: ("notes", notesSecret))
            #expect(withRecovery.status == 200, "\(withRecovery.text)")
            secrets["recovery-code refresh token"] = withRecovery.json?["refresh_token"]?.stringValue
            errorBodies.append(try await HTTP.post(
                hub + "/oauth2/token", form: [("grant_type", "password"), ("username", stack.username), ("password", stack.password)],
                basic: ("notes", notesSecret)).text)

            // A replayed code (last: it revokes the grant, which ends the browser's session).
            errorBodies.append(try await HTTP.post(
                hub + "/oauth2/token",
                form: [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier)],
                basic: ("notes", notesSecret)).text)

            // The CLI: a user with a password on standard input, a client secret printed once.
            let bobPassword = "bob's secret " + UUID().uuidString
            secrets["CLI user password"] = bobPassword
            let added = try await runProcess(stack.cli, ["--redis", stack.redis.url, "users", "add", "bob", "--password-stdin"], input: bobPassword + "\n")
            cliErrors.append(added.standardError + added.standardOutput)
            let duplicate = try await runProcess(stack.cli, ["--redis", stack.redis.url, "users", "add", "bob", "--password-stdin"], input: bobPassword + "\n")
            cliErrors.append(duplicate.standardError + duplicate.standardOutput)
            let client = try await runProcess(stack.cli, ["--redis", stack.redis.url, "--json", "clients", "add", "api"])
            secrets["CLI client secret"] = (try? JSONParser.parse(Array(client.standardOutput.utf8)))?.objectValue?["client_secret"]?.stringValue
            cliErrors.append(client.standardError)
            for arguments in [["users", "list"], ["sessions", "list"], ["clients", "list"], ["events", "--count", "200"], ["--json", "events", "--count", "200"]] {
                let output = try await runProcess(stack.cli, ["--redis", stack.redis.url] + arguments)
                #expect(output.status == 0, "\(arguments): \(output.standardError)")
                cliErrors.append(output.standardOutput + output.standardError)
            }
        } catch {
            Issue.record("the flow failed: \(error)\n\(stack.logs())")
        }

        // Every line written, whole (not the tails kept for failure messages).
        let hubLog = (try? String(contentsOf: stack.hub.log, encoding: .utf8)) ?? ""
        let appLog = (try? String(contentsOf: stack.app("notes").log, encoding: .utf8)) ?? ""
        #expect(hubLog.contains("debug") || hubLog.split(separator: "\n").count > 3, "the hub wrote no debug log to search")
        let haystacks = ["hub log": hubLog, "notes log": appLog, "error bodies": errorBodies.joined(separator: "\n"), "CLI output": cliErrors.joined(separator: "\n")]
        #expect(secrets.count >= 20, "\(secrets.keys.sorted())")
        for (what, secret) in secrets.sorted(by: { $0.key < $1.key }) {
            for (place, text) in haystacks {
                #expect(!text.contains(secret), "the \(what) appears in the \(place)")
            }
        }
        try? await browser.client.shutdown()
        await stack.stop()
    }
}
