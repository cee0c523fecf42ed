import Foundation
import HallpassCrypto
import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("hallpass logout --wait")
struct LogoutWaitTests {
    /// The hub's back-channel settings for fast tests, through its environment variables.
    static let fastHub = [
        "HALLPASS_BACKCHANNEL_POLL_INTERVAL_MS": "20", "HALLPASS_SESSION_SWEEP_INTERVAL_MS": "50",
        "HALLPASS_BACKCHANNEL_INITIAL_BACKOFF_MS": "50", "HALLPASS_BACKCHANNEL_MAX_BACKOFF_MS": "200",
        "HALLPASS_BACKCHANNEL_TIMEOUT_MS": "5000",
    ]

    static func addClient(_ cli: CLIFixture, _ id: String, uri: String) async throws -> String {
        let added = try document(try await cli.run([
            "--json", "clients", "add", id, "--grant", "password", "--grant", "refresh_token", "--backchannel-logout-uri", uri,
        ]))
        let listed = try #require(try document(try await cli.run(["--json", "clients", "list"])).arrayValue)
        #expect(listed.contains { $0.objectValue?["client_id"]?.stringValue == id && $0.objectValue?["backchannel_logout_uri"]?.stringValue == uri })
        return try #require(added.objectValue?["client_secret"]?.stringValue)
    }

    @Test("logout --wait reports per app: all delivered is exit 0; an app that is down is pending, exit 1 with one line")
    func waitReportsPerApp() async throws {
        try await withCLI { cli in
            #expect(try await cli.run(["users", "add", "alice", "--password-stdin"], input: "alice pw\n").status == 0)
            #expect(try await cli.run(["policy", "set", "single-login", "off", "--user", "alice"]).status == 0)
            let notesApp = try LogoutReceiver()
            let tasksApp = try LogoutReceiver()
            try await notesApp.start()
            try await tasksApp.start()
            let notes = try await Self.addClient(cli, "notes", uri: notesApp.uri)
            let tasks = try await Self.addClient(cli, "tasks", uri: tasksApp.uri)
            let hubProcess = try await HubProcess.start(redisURL: cli.url, environment: Self.fastHub)
            defer { Task { await hubProcess.stop() } }
            let hub = HubClient(baseURL: hubProcess.baseURL)

            #expect(try await hub.login("alice", password: "alice pw", client: "notes", secret: notes).status == 200)
            #expect(try await hub.login("alice", password: "alice pw", client: "tasks", secret: tasks).status == 200)
            #expect(try await hub.login("alice", password: "alice pw", client: "notes", secret: notes).status == 200)
            let table = try await cli.run(["logout", "alice", "--wait", "--timeout", "20"])
            #expect(table.status == 0, "\(table.standardError)")
            let lines = table.standardOutput.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            #expect(lines.count == 4, "\(table.standardOutput)")
            #expect(lines.first.map { $0.joined(separator: " ") } == "logged out alice: 3 sessions ended")
            #expect(lines.dropFirst().first?.first == "APP")
            #expect(lines.contains { $0 == ["notes", "2", "0", "0", "-"] }, "\(table.standardOutput)")
            #expect(lines.contains { $0 == ["tasks", "1", "0", "0", "-"] }, "\(table.standardOutput)")
            // Delivery is at least once: a receiver that answers after the hub's request timeout
            // (a loaded CI machine) is sent the token again, so count the sessions told, not POSTs.
            #expect(Set(notesApp.acknowledged.compactMap { $0.logoutToken.flatMap(Self.sessionID) }).count == 2)
            #expect(Set(tasksApp.acknowledged.compactMap { $0.logoutToken.flatMap(Self.sessionID) }).count == 1)

            // tasks goes down: its notification stays pending past the timeout.
            await tasksApp.stop()
            #expect(try await hub.login("alice", password: "alice pw", client: "notes", secret: notes).status == 200)
            #expect(try await hub.login("alice", password: "alice pw", client: "tasks", secret: tasks).status == 200)
            let pending = try await cli.run(["--json", "logout", "alice", "--wait", "--timeout", "15"])
            #expect(pending.status == 1)
            #expect(pending.standardError == "hallpass: back-channel logout not acknowledged: still pending at tasks after the timeout\n")
            let report = try #require(try JSONParser.parse(Array(pending.standardOutput.utf8)).objectValue)
            #expect(report["sessions_ended"] == .integer(2))
            #expect(report["complete"] == .bool(false))
            let apps = try #require(report["apps"]?.arrayValue).compactMap(\.objectValue)
            #expect(apps.count == 2)
            #expect(apps.first { $0["client_id"] == "notes" }?["delivered"] == .integer(1))
            let down = try #require(apps.first { $0["client_id"] == "tasks" })
            #expect(down["pending"] == .integer(1) && down["delivered"] == .integer(0))
            // Refused, or (a keep-alive connection to the stopped app) closed or timed out.
            #expect(down["last_error"]?.stringValue?.isEmpty == false, "\(pending.standardOutput)")

            // It comes back and gets it; nothing left for a user without sessions.
            try await tasksApp.start()
            try await waitUntilDelivered(tasksApp, count: 2)
            let none = try await cli.run(["logout", "alice", "--wait"])
            #expect(none.status == 0)
            #expect(none.standardOutput == "logged out alice: 0 sessions ended\nno app of these sessions registered a back-channel logout URI\n")
            await notesApp.stop()
            await tasksApp.stop()
        }
    }

    /// The `sid` claim of a logout token (its signature is checked in the hub's own tests).
    private static func sessionID(_ token: String) -> String? {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let payload = try? UnpaddedBase64.url.decode(parts[1]),
            let claims = try? JSONParser.parse(payload)
        else { return nil }
        return claims.objectValue?["sid"]?.stringValue
    }

    private func waitUntilDelivered(_ receiver: LogoutReceiver, count: Int) async throws {
        try await waitUntil("\(count) logout token(s) delivered", seconds: 20) { receiver.acknowledged.count >= count }
    }
}
