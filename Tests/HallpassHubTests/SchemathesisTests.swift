import Foundation
import HallpassJOSE
import HallpassTestSupport
import Testing

/// schemathesis (PyPI) tests a live hub against its own OpenAPI description: examples,
/// coverage, fuzzing and stateful phases, with the checks docs/OPENAPI.md lists. Any failure
/// is a hub bug or a wrong description; both are fixed, never the checks weakened.
@Suite("Interop: schemathesis finds no failure against the hub's OpenAPI description")
struct SchemathesisTests {
    /// Names the description's examples use (components.examples in openapi.json), so the
    /// examples phase reaches real clients and a real user.
    static let confidentialClient = "example-app"
    static let publicClient = "example-spa"
    static let redirectURI = "https://app.example/callback"
    static let postLogoutRedirectURI = "https://app.example/signed-out"
    static let username = "alice"
    static let password = "correct horse battery staple"

    static var configFile: URL { InteropPython.script("schemathesis.toml") }

    @Test("every operation, every phase, five checks: zero failures", .timeLimit(.minutes(5)))
    func schemathesis() async throws {
        // Throws when HALLPASS_PYTHON is unset: a skipped interop check would read like a passed one.
        let python = try InteropPython.executable()
        let st = python.deletingLastPathComponent().appendingPathComponent("st")
        try await withAddressedHub { hub in
            try await hub.addUser(Self.username, password: Self.password, name: "Alice", email: "alice@app.example", emailVerified: true)
            let allGrants = ["authorization_code", "password", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"]
            let secret = try #require(
                try await hub.store.createClient(
                    id: Self.confidentialClient, confidential: true, redirectURIs: [Self.redirectURI],
                    postLogoutRedirectURIs: [Self.postLogoutRedirectURI], grantTypes: allGrants, actor: "test"
                ).secret)
            _ = try await hub.store.createClient(
                id: Self.publicClient, confidential: false, redirectURIs: [Self.redirectURI],
                postLogoutRedirectURIs: [Self.postLogoutRedirectURI],
                grantTypes: ["authorization_code", "password", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
                actor: "test")
            // Two other users' access tokens: one for UserInfo (bearerAuth), one for the API form
            // of end_session (sessionBearer), which ends its session at the first 204. Not alice's:
            // the examples sign alice in again, and a single-login policy may end her session.
            var tokens: [String] = []
            for name in ["bob", "carol"] {
                try await hub.addUser(name, password: "\(name)-password-1", name: name.capitalized)
                let login = try await hub.login(
                    name, password: "\(name)-password-1", client: Self.confidentialClient, secret: secret,
                    scope: "openid profile email offline_access")
                tokens.append(try #require(login.string("access_token"), "\(login.text)"))
            }

            let reportDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(unique("schemathesis"))
            defer { try? FileManager.default.removeItem(at: reportDirectory) }
            let output = try await runProcess(
                st,
                [
                    "--config-file", Self.configFile.path, "--no-color",
                    "run", hub.baseURL + "/openapi.json",
                    "--phases", "examples,coverage,fuzzing,stateful",
                    // The checks are the config file's (not `--checks`, which would override its
                    // per-operation exception for the authorization endpoint).
                    // Bounded: about a minute and a half on two shared cores.
                    "--max-examples", "25", "--workers", "2",
                    "--request-timeout", "10", "--max-redirects", "0",
                    "--report", "junit", "--report-dir", reportDirectory.path,
                ],
                environment: [
                    "HALLPASS_ST_CLIENT_ID": Self.confidentialClient, "HALLPASS_ST_CLIENT_SECRET": secret,
                    "HALLPASS_ST_ACCESS_TOKEN": tokens[0], "HALLPASS_ST_LOGOUT_TOKEN": tokens[1],
                ])
            let log = "stdout:\n\(output.standardOutput)\nstderr:\n\(output.standardError)"
            #expect(output.status == 0, "schemathesis exited with \(output.status)\n\(log)")
            // The summary names every phase it ran; a run that tested nothing fails here.
            #expect(output.standardOutput.contains("Examples"), "\(log)")
            #expect(output.standardOutput.contains("Coverage"), "\(log)")
            #expect(output.standardOutput.contains("Fuzzing"), "\(log)")
            #expect(output.standardOutput.contains("Stateful"), "\(log)")
            // "Test cases: N generated, N passed, ..." with N > 0, and no failure line.
            let counts = output.standardOutput.split(separator: "\n").drop { !$0.hasPrefix("Test cases:") }.dropFirst().first
            let generated = counts?.trimmingCharacters(in: .whitespaces).split(separator: " ").first.flatMap { Int($0) } ?? 0
            #expect(generated > 0, "\(log)")
            #expect(counts?.contains("failure") == false, "\(log)")
            // The summary, for the test log.
            print(output.standardOutput.split(separator: "\n").suffix(30).joined(separator: "\n"))
        }
    }
}
