import HallpassJOSE
import HallpassTestSupport
import Testing

@Suite("Interop: authlib runs the authorization code flow with PKCE against the hub")
struct AuthlibInteropTests {
    @Test("authlib signs in through discovery, verifies the ID token, and is refused a wrong verifier, a replayed code, a foreign redirect URI and a missing state")
    func authlibCodeFlow() async throws {
        // Throws when HALLPASS_PYTHON is unset: a skipped interop check would read like a passed one.
        let python = try InteropPython.executable()
        try await withAddressedHub { hub in
            let user = try await hub.addUser("ivy", password: "pw-ivy-1", name: "Ivy")
            let redirect = "http://127.0.0.1:9/rp/callback"
            let secret = try #require(try await hub.addWebClient("rp", redirect: redirect))
            let request: JSONValue = [
                "issuer": .string(hub.configuration.issuer), "client_id": "rp", "client_secret": .string(secret),
                "redirect_uri": .string(redirect), "username": "ivy", "password": "pw-ivy-1",
                "foreign_redirect_uri": "http://127.0.0.1:9/elsewhere",
            ]
            let output = try await runProcess(python, [InteropPython.script("authlib_code_flow.py").path], input: request.serializedString)
            try #require(
                output.status == 0,
                "authlib_code_flow.py exited with \(output.status)\nstderr:\n\(output.standardError)\nstdout:\n\(output.standardOutput)")
            let report = try #require(try JSONParser.parse(Array(output.standardOutput.utf8)).objectValue, "\(output.standardOutput)")
            #expect(report["form_shown"] == true)
            #expect(report["iss_in_response"] == .string(hub.configuration.issuer))
            let idToken = try #require(report["id_token"]?.objectValue)
            #expect(idToken["sub"] == .string(user.id))
            #expect(idToken["aud"] == "rp")
            #expect(idToken["sid"]?.stringValue?.isEmpty == false)
            #expect(idToken["auth_time"]?.integerValue != nil)
            #expect(idToken["nonce"]?.stringValue?.isEmpty == false)
            #expect(report["token_type"] == "Bearer")
            #expect(report["refreshed"] == true)
            #expect(report["second_flow_form_shown"] == false)
            #expect(report["wrong_verifier"] == "invalid_grant")
            #expect(report["replayed_code"] == "invalid_grant")
            #expect(report["refresh_after_replay"] == "invalid_grant")
            #expect(report["foreign_redirect_status"] == 400)
            #expect(report["foreign_redirect_location"] == .null)
            #expect(report["missing_state_status"] == 302)
            #expect(report["missing_state_error"] == "invalid_request")
            #expect(report["missing_state_code"] == .null)
        }
    }
}
