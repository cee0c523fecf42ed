import Foundation
import HallpassCrypto
import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("authlib asks for a second factor with acr_values and reads amr/acr (pyotp as the authenticator)")
struct AuthlibSecondFactorTests {
    @Test("a password sign-in says acr pwd; acr_values=mfa then demands the code inside the SSO session and says acr mfa")
    func acrValues() async throws {
        let python = try InteropPython.executable()
        try await withAddressedHub { hub in
            let user = try await hub.addUser("pia", password: "pw-pia-1")
            let redirect = "http://127.0.0.1:9/rp/callback"
            let secret = try #require(try await hub.addWebClient("rp", redirect: redirect))
            let request: JSONValue = [
                "issuer": .string(hub.configuration.issuer), "client_id": "rp", "client_secret": .string(secret),
                "redirect_uri": .string(redirect), "username": "pia", "password": "pw-pia-1",
            ]
            let output = try await runProcess(python, [InteropPython.script("authlib_acr.py").path], input: request.serializedString)
            try #require(output.status == 0, "authlib_acr.py exited with \(output.status)\n\(output.standardError)\n\(output.standardOutput)")
            let report = try #require(try JSONParser.parse(Array(output.standardOutput.utf8)).objectValue)
            #expect(report["acr_values_supported"] == .array(["pwd", "mfa"]))
            let plain = try #require(report["plain"]?.objectValue)
            let stepUp = try #require(report["step_up"]?.objectValue)
            #expect(plain["pages"] == .array(["password"]))
            #expect(plain["acr"] == "pwd")
            #expect(plain["amr"] == .array(["pwd"]))
            #expect(stepUp["pages"] == .array(["enroll", "recovery_codes"]), "set-up inside the session, no password form")
            #expect(stepUp["acr"] == "mfa")
            #expect(stepUp["amr"] == .array(["pwd", "otp", "mfa"]))
            #expect(stepUp["sid"] == plain["sid"], "a step up keeps the session")
            let again = try #require(report["again"]?.objectValue)
            #expect(again["pages"] == .array([]) && again["acr"] == "mfa")
            #expect(try await hub.store.user(id: user.id)?.hasSecondFactor == true)
        }
    }
}
