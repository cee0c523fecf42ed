import Foundation
import HallpassJOSE
import HallpassTestSupport
import Testing

/// The mission, as a person sees it: headless Chromium signs in once at one app, is known to the
/// other two without a password, and an admin's `hallpass logout` signs it out of all three at
/// the next page load. Screenshots of every step land in `.build/artifacts/browser-sso/`.
@Suite("Browser single sign-on", .serialized)
struct BrowserSSOTests {
    @Test("headless Chromium: sign in at notes, SSO into tasks and billing, `hallpass logout` signs out of all three")
    func singleSignOnAndForcedLogout() async throws {
        let python = try InteropPython.executable()
        let stack = try await SampleAppStack.start(apps: ["notes", "tasks", "billing"])
        let artifacts = packageRoot().appendingPathComponent(".build/artifacts/browser-sso")
        let config: JSONValue = [
            "apps": .array(stack.apps.map { app -> JSONValue in ["name": .string(app.name), "url": .string(app.baseURL)] }),
            "hub": .string(stack.hub.baseURL),
            "username": .string(stack.username),
            "password": .string(stack.password),
            "logout_command": .array([stack.cli.path, "--redis", stack.redis.url, "logout", "alice"].map { .string($0) }),
            "artifacts": .string(artifacts.path),
        ]
        let output = try await runProcess(python, [InteropPython.script("browser_sso.py").path, config.serializedString])
        let steps = output.standardOutput
        #expect(output.status == 0, "browser_sso.py failed:\n\(steps)\n\(output.standardError.suffix(3000))\n\(stack.logs())")
        #expect(steps.contains("\"result\": \"ok\""))
        for app in ["notes", "tasks", "billing"] {
            #expect(steps.contains("\(app)-signed-out-after-logout"), "\(steps)")
        }
        #expect(steps.contains("tasks-signed-in-without-password"))
        #expect(steps.contains("billing-signed-in-without-password"))
        await stack.stop()
    }
}
