// hallpass-device-demo: signs in on a device without a browser, with the OAuth 2.0 device
// authorization grant (RFC 8628) against a Hallpass hub.
//
// It finds the endpoints through discovery, asks for a device code, shows the user where to
// approve it, polls the token endpoint at the interval the hub asked for (longer after each
// slow_down), and prints who signed in, from userinfo. Exit 0 when signed in; 1 when the user
// denied, the code expired, or the hub could not be used; 64 for bad usage.
import ArgumentParser
import AsyncHTTPClient
import Foundation
import HallpassJOSE
import NIOCore

@main
struct DeviceDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hallpass-device-demo",
        abstract: "Sign in on a device without a browser (OAuth 2.0 device authorization grant, RFC 8628).")

    @Option(help: "The hub's base URL (env HALLPASS_HUB_URL; default http://127.0.0.1:8400).")
    var hub: String?

    @Option(name: .customLong("client-id"), help: "The OAuth client id (env HALLPASS_CLIENT_ID; default device-demo, a public client).")
    var clientID: String?

    @Option(help: "The scope to ask for (default: openid profile).")
    var scope: String = "openid profile"

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        func pick(_ flag: String?, _ variable: String, _ fallback: String) -> String {
            if let flag, !flag.isEmpty { return flag }
            if let value = environment[variable], !value.isEmpty { return value }
            return fallback
        }
        let hubURL = pick(hub, "HALLPASS_HUB_URL", "http://127.0.0.1:8400")
        let client = pick(clientID, "HALLPASS_CLIENT_ID", "device-demo")
        // A confidential client authenticates with its secret, from the environment only (a
        // flag would show in ps).
        let secret = environment["HALLPASS_CLIENT_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        let flow = DeviceFlow(hubURL: hubURL, clientID: client, clientSecret: secret, scope: scope)
        do {
            try await flow.run()
        } catch {
            FileHandle.standardError.write(Data("hallpass-device-demo: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// One run of the device flow.
struct DeviceFlow {
    let hubURL: String
    let clientID: String
    let clientSecret: String?
    let scope: String

    /// Why the flow ended without a sign-in; the text is for the user.
    enum Failure: Error, CustomStringConvertible {
        case denied
        case expired
        case refused(String, String)
        case hub(String)

        var description: String {
            switch self {
            case .denied: "the request was denied at the hub"
            case .expired: "the code expired before it was approved; run again for a new one"
            case .refused(let code, let description): "the hub refused: \(code) (\(description))"
            case .hub(let what): "cannot use the hub: \(what)"
            }
        }
    }

    func run() async throws(Failure) {
        let discovery = try await getJSON(hubURL.trimmingSuffix("/") + "/.well-known/openid-configuration", bearer: nil)
        func endpoint(_ name: String) throws(Failure) -> String {
            guard let value = discovery[name]?.stringValue, !value.isEmpty else { throw .hub("discovery lists no \(name)") }
            return value
        }
        let deviceEndpoint = try endpoint("device_authorization_endpoint")
        let tokenEndpoint = try endpoint("token_endpoint")
        let userinfoEndpoint = try endpoint("userinfo_endpoint")

        let (status, started) = try await postForm(deviceEndpoint, [("scope", scope)])
        guard status == 200 else { throw refusal(started, status: status) }
        guard let deviceCode = started["device_code"]?.stringValue, let userCode = started["user_code"]?.stringValue,
            let verification = started["verification_uri"]?.stringValue
        else { throw .hub("the device authorization response lacks device_code, user_code or verification_uri") }
        var interval = max(1, started["interval"]?.integerValue ?? 5)
        let expiresIn = started["expires_in"]?.integerValue ?? 600

        say("To sign in, open \(verification)")
        say("and enter the code: \(userCode)")
        if let complete = started["verification_uri_complete"]?.stringValue { say("Or open: \(complete)") }
        say("Waiting for approval (the code expires in \(expiresIn) s)...")

        let deadline = Date().addingTimeInterval(TimeInterval(expiresIn))
        while true {
            do {
                try await Task.sleep(for: .seconds(interval))
            } catch {
                throw .hub("interrupted")
            }
            let (status, answer) = try await postForm(
                tokenEndpoint, [("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", deviceCode)])
            if status == 200 {
                guard let access = answer["access_token"]?.stringValue else { throw .hub("the token response lacks access_token") }
                let me = try await getJSON(userinfoEndpoint, bearer: access)
                let subject = me["sub"]?.stringValue ?? "?"
                let username = me["preferred_username"]?.stringValue ?? "(no profile scope)"
                say("Signed in as \(username) (sub \(subject)).")
                return
            }
            switch answer["error"]?.stringValue {
            case "authorization_pending":
                continue
            case "slow_down":
                // RFC 8628 section 3.5: five seconds more, for this and every later poll.
                interval += 5
            case "access_denied":
                throw .denied
            case "expired_token":
                throw .expired
            default:
                throw refusal(answer, status: status)
            }
            if Date() > deadline.addingTimeInterval(TimeInterval(interval)) { throw .expired }
        }
    }

    private func refusal(_ answer: [String: JSONValue], status: Int) -> Failure {
        guard let code = answer["error"]?.stringValue else { return .hub("HTTP \(status)") }
        return .refused(code, answer["error_description"]?.stringValue ?? "")
    }

    private func say(_ line: String) {
        // Unbuffered: a person (or a script) waits for the code while this process polls.
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    // MARK: HTTP

    private func postForm(_ url: String, _ parameters: [(String, String)]) async throws(Failure) -> (Int, [String: JSONValue]) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        var fields = parameters
        if let clientSecret {
            // RFC 6749 section 2.3.1: id and secret are form-encoded before they are joined.
            let credentials = formEscape(clientID) + ":" + formEscape(clientSecret)
            request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        } else {
            fields.append(("client_id", clientID))
        }
        request.body = .bytes(ByteBuffer(string: fields.map { formEscape($0.0) + "=" + formEscape($0.1) }.joined(separator: "&")))
        return try await send(request)
    }

    private func getJSON(_ url: String, bearer: String?) async throws(Failure) -> [String: JSONValue] {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer " + bearer) }
        let (status, json) = try await send(request)
        guard status == 200 else { throw .hub("\(url) answered \(status)") }
        return json
    }

    private func send(_ request: HTTPClientRequest) async throws(Failure) -> (Int, [String: JSONValue]) {
        let status: Int
        let json: JSONValue
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            status = Int(response.status.code)
            json = try JSONParser.parse(body.readableBytesView)
        } catch {
            throw .hub("\(request.url): \(type(of: error))")
        }
        guard let object = json.objectValue else { throw .hub("\(request.url) answered \(status) without a JSON object") }
        return (status, object)
    }

    /// Escapes everything but unreserved characters (RFC 3986 section 2.3).
    private func formEscape(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return result
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
