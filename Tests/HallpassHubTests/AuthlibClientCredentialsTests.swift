import HallpassJOSE
import HallpassTestSupport
import Testing

@Suite("Interop: authlib runs the client credentials grant against the hub")
struct AuthlibClientCredentialsTests {
    @Test("authlib gets a token through discovery (Basic and client_secret_post), PyJWT verifies it, requests introspects and revokes it; a wrong secret is invalid_client")
    func authlibClientCredentials() async throws {
        // Throws when HALLPASS_PYTHON is unset: a skipped interop check would read like a passed one.
        let python = try InteropPython.executable()
        try await withAddressedHub { hub in
            let secret = try await hub.addMachineClient("reports-job")
            let request: JSONValue = [
                "issuer": .string(hub.configuration.issuer), "client_id": "reports-job", "client_secret": .string(secret),
            ]
            let output = try await runProcess(
                python, [InteropPython.script("authlib_client_credentials.py").path], input: request.serializedString)
            try #require(
                output.status == 0,
                "authlib_client_credentials.py exited with \(output.status)\nstderr:\n\(output.standardError)\nstdout:\n\(output.standardOutput)")
            let report = try #require(try JSONParser.parse(Array(output.standardOutput.utf8)).objectValue, "\(output.standardOutput)")
            #expect(report["grant_advertised"] == true)
            #expect(report["token_type"] == "Bearer")
            #expect(report["expires_in"] == .integer(300))
            // No refresh token, no ID token, and no scope: openid is a user's, reports:read unknown.
            #expect(report["response_members"] == ["access_token", "expires_in", "token_type"])
            #expect(report["post_token"] == true)
            #expect(report["wrong_secret"] == "invalid_client")
            #expect(report["typ"] == "at+jwt")
            let claims = try #require(report["claims"]?.objectValue)
            #expect(claims["sub"] == "reports-job")
            #expect(claims["client_id"] == "reports-job")
            #expect(claims["aud"] == "reports-job")
            #expect(claims["sid"] == nil)
            #expect(claims["auth_time"] == nil)
            let introspection = try #require(report["introspection"]?.objectValue)
            #expect(introspection["active"] == true)
            #expect(introspection["sub"] == "reports-job")
            #expect(introspection["client_id"] == "reports-job")
            #expect(report["revocation_status"] == .integer(200))
            #expect(report["introspection_after_revocation"] == ["active": false])
        }
    }
}
