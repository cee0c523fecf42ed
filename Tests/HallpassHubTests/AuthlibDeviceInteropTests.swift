import HallpassJOSE
import HallpassTestSupport
import Testing

@Suite("Interop: authlib runs the device authorization grant (RFC 8628) against the hub")
struct AuthlibDeviceInteropTests {
    @Test("authlib polls (pending, slow_down), a scripted browser signs in and approves, PyJWT verifies the ID token; the used device code is refused and its grant revoked")
    func authlibDeviceFlow() async throws {
        // Throws when HALLPASS_PYTHON is unset: a skipped interop check would read like a passed one.
        let python = try InteropPython.executable()
        // A 10 s interval: the script's second poll, sent at once, must come within it, and on
        // a loaded 2-core CI machine two polls in a row once came more than 2 s apart. The
        // script then polls every 15 s (RFC 8628's 5 s more), past the hub's 11.
        try await withAddressedHub(configure: { configuration in
            configuration.deviceAuthorization.interval = 10
            configuration.deviceAuthorization.slowDownIncrement = 1
        }) { hub in
            let user = try await hub.addUser("jo", password: "pw-jo-1", name: "Jo")
            try await hub.addDeviceClient("tv-app")
            let request: JSONValue = [
                "issuer": .string(hub.configuration.issuer), "client_id": "tv-app", "username": "jo", "password": "pw-jo-1",
            ]
            let output = try await runProcess(python, [InteropPython.script("authlib_device_flow.py").path], input: request.serializedString)
            try #require(
                output.status == 0,
                "authlib_device_flow.py exited with \(output.status)\nstderr:\n\(output.standardError)\nstdout:\n\(output.standardOutput)")
            let report = try #require(try JSONParser.parse(Array(output.standardOutput.utf8)).objectValue, "\(output.standardOutput)")
            #expect(report["verification_uri"] == .string(hub.configuration.issuer + DeviceFlow.verificationPath))
            #expect(report["first_poll"] == "authorization_pending")
            #expect(report["second_poll"] == "slow_down")
            #expect(report["sign_in_asked"] == true)
            #expect(report["buttons"] == ["approve", "deny"])
            #expect(report["token_type"] == "Bearer")
            #expect(report["scope"] == "openid profile")
            let idToken = try #require(report["id_token"]?.objectValue)
            #expect(idToken["sub"] == .string(user.id))
            #expect(idToken["aud"] == "tv-app")
            #expect(idToken["preferred_username"] == "jo")
            // The device's grant is in the hub session the browser signed in with.
            let hubSession = try #require(report["hub_session"]?.stringValue)
            #expect(!hubSession.isEmpty)
            #expect(idToken["sid"] == .string(hubSession))
            #expect(report["refreshed"] == true)
            #expect(report["replayed_device_code"] == "invalid_grant")
            #expect(report["refresh_after_replay"] == "invalid_grant")
        }
    }
}
