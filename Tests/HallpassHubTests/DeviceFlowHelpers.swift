import HallpassHub
import HallpassStore
import Testing

/// The device authorization grant's names, as a client spells them.
enum DeviceFlow {
    static let grantType = "urn:ietf:params:oauth:grant-type:device_code"
    static let authorizationPath = "/oauth2/device_authorization"
    static let verificationPath = "/device"
    static let signInPath = "/device/login"
    static let decisionPath = "/device/decide"
    /// How the confirmation page words the `profile` scope.
    static let profileWords = "your username and name"

    /// Quick polling for tests: a 1 s interval that each slow_down lengthens by 1 s.
    static func fast(_ configuration: inout HubConfiguration) {
        configuration.deviceAuthorization.interval = 1
        configuration.deviceAuthorization.slowDownIncrement = 1
    }
}

/// A started device authorization, as the device sees it.
struct DeviceStart: Sendable {
    let deviceCode: String
    let userCode: String
    let verificationURI: String
    let complete: String
    let interval: Int64
    let reply: HTTPReply
}

extension HubFixture {
    /// Registers a client for the device grant (and refresh); returns its secret, nil when public.
    @discardableResult
    func addDeviceClient(_ id: String, confidential: Bool = false) async throws -> String? {
        try await addClient(id, confidential: confidential, grants: [DeviceFlow.grantType, "refresh_token"])
    }

    /// `POST /oauth2/device_authorization`.
    func deviceAuthorization(client: String, secret: String? = nil, scope: String? = "openid profile") async throws -> HTTPReply {
        var form: [(String, String)] = []
        if let scope { form.append(("scope", scope)) }
        if let secret { return try await post(DeviceFlow.authorizationPath, form: form, basic: (client, secret)) }
        return try await post(DeviceFlow.authorizationPath, form: form + [("client_id", client)])
    }

    /// A device authorization that must succeed.
    func startDevice(
        client: String, secret: String? = nil, scope: String? = "openid profile", sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> DeviceStart {
        let reply = try await deviceAuthorization(client: client, secret: secret, scope: scope)
        try #require(reply.status == 200, "device authorization answered \(reply.status): \(reply.text)", sourceLocation: sourceLocation)
        return DeviceStart(
            deviceCode: try #require(reply.string("device_code"), sourceLocation: sourceLocation),
            userCode: try #require(reply.string("user_code"), sourceLocation: sourceLocation),
            verificationURI: try #require(reply.string("verification_uri"), sourceLocation: sourceLocation),
            complete: try #require(reply.string("verification_uri_complete"), sourceLocation: sourceLocation),
            interval: try #require(reply["interval"]?.integerValue, sourceLocation: sourceLocation),
            reply: reply)
    }

    /// One poll of the token endpoint with a device code.
    func pollDevice(_ deviceCode: String?, client: String, secret: String? = nil) async throws -> HTTPReply {
        var form = [("grant_type", DeviceFlow.grantType)]
        if let deviceCode { form.append(("device_code", deviceCode)) }
        if let secret { return try await post(HubPath.token, form: form, basic: (client, secret)) }
        return try await post(HubPath.token, form: form + [("client_id", client)])
    }

    /// The user's part in `browser`: opens `url` (the complete verification URI), signs in as
    /// `username` when the page asks, and presses Approve or Deny. Returns the last page.
    func decideDevice(
        _ url: String, browser: TestBrowser, username: String, password: String, approve: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> HTTPReply {
        var page = try await browser.request(url)
        try #require(page.status == 200, "verification page answered \(page.status): \(page.text)", sourceLocation: sourceLocation)
        if page.text.contains("name=\"password\"") {
            page = try await browser.request(
                baseURL + DeviceFlow.signInPath, method: .POST,
                form: hiddenFields(page.text) + [("username", username), ("password", password)])
            try #require(page.status == 200, "device sign-in answered \(page.status): \(page.text)", sourceLocation: sourceLocation)
        }
        try #require(page.text.contains("name=\"decision\""), "no Approve/Deny form: \(page.text)", sourceLocation: sourceLocation)
        return try await browser.request(
            baseURL + DeviceFlow.decisionPath, method: .POST, form: hiddenFields(page.text) + [("decision", approve ? "approve" : "deny")])
    }

    /// The hub session the browser's cookie names.
    func browserSessionID(_ browser: TestBrowser) -> String? {
        browser.cookie("hallpass_session").flatMap { $0.split(separator: ".").first.map(String.init) }
    }
}
