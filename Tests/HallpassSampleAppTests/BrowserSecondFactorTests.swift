import Foundation
import HallpassJOSE
import HallpassTestSupport
import Testing

/// Issue 18 as a person sees it, in two headless Chromium profiles (two devices): TOTP set up at
/// the hub's account page (pyotp as the authenticator), a sign-in with the code on the second
/// device, a step up at billing's invoices on the first, and the second device's session ended
/// from the first one's account page. Screenshots land in `.build/artifacts/browser-mfa/`.
@Suite("Browser second factor and account page", .serialized)
struct BrowserSecondFactorTests {
    @Test("set up TOTP at the account page, sign in with a code elsewhere, step up at billing, end the other session")
    func secondFactorAcrossTwoDevices() async throws {
        let python = try InteropPython.executable()
        let stack = try await SampleAppStack.start(apps: ["notes", "billing"])
        // Two devices signed in at once need the single-login policy off (the default ends the
        // first session when the second signs in).
        let policy = try await SampleAppStack.runCLI(stack.cli, redisURL: stack.redis.url, ["policy", "set", "single-login", "off"])
        #expect(policy.status == 0, "\(policy.standardError)")
        let artifacts = packageRoot().appendingPathComponent(".build/artifacts/browser-mfa")
        var apps: [String: JSONValue] = [:]
        for app in stack.apps { apps[app.name] = .string(app.baseURL) }
        let config: JSONValue = [
            "apps": .object(apps), "hub": .string(stack.hub.baseURL), "username": .string(stack.username),
            "password": .string(stack.password), "artifacts": .string(artifacts.path),
        ]
        let output = try await runProcess(python, [InteropPython.script("browser_mfa.py").path, config.serializedString])
        let steps = output.standardOutput
        #expect(output.status == 0, "browser_mfa.py failed:\n\(steps)\n\(output.standardError.suffix(3000))\n\(stack.logs())")
        for step in ["a-recovery-codes", "b-code-form", "b-notes-signed-in-with-code", "a-step-up-code-form", "a-billing-invoices",
            "a-account-two-sessions", "b-notes-signed-out"]
        {
            #expect(steps.contains("\"\(step)\""), "missing step \(step) in:\n\(steps)")
        }
        await stack.stop()
    }
}
