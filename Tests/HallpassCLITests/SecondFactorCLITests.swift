import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("CLI: users mfa reset, users list's MFA column, policy set mfa")
struct SecondFactorCLITests {
    /// Gives `username` a second factor straight through the store, as the hub's set-up does.
    static func enroll(_ cli: CLIFixture, _ username: String) async throws -> String {
        let user = try #require(try await cli.store.user(named: username))
        let stored = try SecondFactorSecret.seal(Array("12345678901234567890".utf8), userID: user.id, kek: nil)
        try await cli.store.beginEnrollment(userID: user.id, storedSecret: stored)
        let enrolled = try await cli.store.completeEnrollment(
            userID: user.id, storedSecret: stored, step: 1, recoveryCodeHashes: ["aa", "bb"], actor: "test")
        #expect(enrolled)
        return user.id
    }

    @Test("users list shows who has a second factor; users mfa reset removes it, logged as mfa_reset")
    func resetAndList() async throws {
        try await withCLI { cli in
            for name in ["mia", "ned"] {
                #expect(try await cli.run(["users", "add", name, "--password-stdin"], input: "pw-\(name)\n").status == 0)
            }
            let id = try await Self.enroll(cli, "mia")
            let table = try await cli.run(["users", "list"])
            #expect(table.standardOutput.split(separator: "\n").first?.contains("MFA") == true)
            let miaLine = try #require(table.standardOutput.split(separator: "\n").first { $0.hasPrefix("mia ") })
            #expect(miaLine.contains("totp"))
            let json = try JSONParser.parse(Array(try await cli.run(["--json", "users", "list"]).standardOutput.utf8))
            let mfa = json.arrayValue?.compactMap { $0.objectValue }.map { ($0["username"]?.stringValue ?? "", $0["mfa"]) }
            #expect(mfa?.first { $0.0 == "mia" }?.1 == .string("totp"))
            #expect(mfa?.first { $0.0 == "ned" }?.1 == .null)
            #expect(!table.standardOutput.contains("plain:"), "no secret in the listing")

            let reset = try await cli.run(["--json", "users", "mfa", "reset", "mia"])
            #expect(reset.status == 0, "\(reset.standardError)")
            #expect(try JSONParser.parse(Array(reset.standardOutput.utf8)) == ["user": "mia", "removed": true])
            #expect(try await cli.store.user(id: id)?.hasSecondFactor == false)
            let again = try await cli.run(["users", "mfa", "reset", "mia"])
            #expect(again.status == 0 && again.standardOutput.contains("had no second factor"))
            let unknown = try await cli.run(["users", "mfa", "reset", "nobody"])
            #expect(unknown.status == 1 && unknown.standardError.split(separator: "\n").count == 1)
            let events = try await cli.store.recentEvents(count: 50).filter { $0.user == id }
            #expect(events.contains { $0.type == "mfa_reset" && $0.actor.hasPrefix("cli:") })
        }
    }

    @Test("policy set mfa required|optional globally and per user; bad values are usage errors")
    func policy() async throws {
        try await withCLI { cli in
            #expect(try await cli.run(["users", "add", "ola", "--password-stdin"], input: "pw-ola\n").status == 0)
            #expect(try await cli.run(["policy", "set", "mfa", "required"]).status == 0)
            #expect(try await cli.store.globalSecondFactorPolicy() == .required)
            #expect(try await cli.run(["policy", "set", "mfa", "optional", "--user", "ola"]).status == 0)
            #expect(try await cli.store.user(named: "ola")?.secondFactorPolicy == .optional)
            let show = try JSONParser.parse(Array(try await cli.run(["--json", "policy", "show"]).standardOutput.utf8))
            #expect(show.objectValue?["mfa"]?.objectValue?["global"] == .string("required"))
            #expect(show.objectValue?["mfa"]?.objectValue?["users"]?.arrayValue?.count == 1)
            let bad = try await cli.run(["policy", "set", "mfa", "sometimes"])
            #expect(bad.status == 2 && bad.standardError.contains("required or optional"))
            #expect(try await cli.run(["policy", "set", "mfa", "default", "--user", "ola"]).status == 0)
            #expect(try await cli.store.user(named: "ola")?.secondFactorPolicy == nil)
        }
    }
}
