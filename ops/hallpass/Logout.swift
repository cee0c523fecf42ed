import ArgumentParser
import HallpassJOSE
import HallpassStore

/// `hallpass logout USER`: a forced logout.
struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Force a user out: end every session of USER at once; prints how many ended.",
        discussion: """
            Ends all of the user's sessions at every app, and raises the user's "not before" \
            watermark, so every token issued to them until now is void: refresh tokens fail at \
            the hub, and validators reject the access tokens at once, even those whose session \
            was not recorded. The user may log in again (`users disable` also prevents that). \
            With --json, prints {"user": ..., "sessions_ended": N}; with --wait, also "complete" and \
            "apps": [{"client_id", "delivered", "pending", "failed", "last_error"}].
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The user's login name.", valueName: "user"))
    var user: String

    @Flag(help: """
        Then wait until every app of the ended sessions that registered a back-channel logout \
        URI acknowledged the logout (or delivery failed, or --timeout passed), and report per \
        app. Exit status 1 unless every notification was delivered.
        """)
    var wait = false

    @Option(help: ArgumentHelp("With --wait, how long to wait at most (seconds; default 30).", valueName: "seconds"))
    var timeout: Double = 30

    func validate() throws {
        try Users.checkName(user)
        guard timeout > 0, timeout <= 86400 else { throw ValidationError("--timeout must be more than 0 and at most 86400 seconds") }
    }

    func run() async throws {
        let (username, ended, report) = try await StoreConnection.run(global) { connection -> (String, [String], LogoutReport?) in
            let record = try await connection.existingUser(user)
            let ended = try await connection.store.endSessionsReturningIDs(
                ofUser: record.id, reason: "forced_logout", actor: GlobalOptions.actor, revokeIssuedTokens: true)
            guard wait else { return (record.username, ended, nil) }
            let report = try await LogoutReport.wait(for: ended, store: connection.store, timeout: timeout)
            return (record.username, ended, report)
        }
        guard let report else {
            if global.json {
                Console.json(["user": .string(username), "sessions_ended": .integer(Int64(ended.count))])
            } else {
                print("logged out \(username): \(ended.count) session\(ended.count == 1 ? "" : "s") ended")
            }
            return
        }
        if global.json {
            Console.json([
                "user": .string(username), "sessions_ended": .integer(Int64(ended.count)),
                "complete": .bool(report.allDelivered),
                "apps": .array(report.apps.map { app -> JSONValue in
                    [
                        "client_id": .string(app.clientID), "delivered": .integer(Int64(app.delivered)),
                        "pending": .integer(Int64(app.pending)), "failed": .integer(Int64(app.failed)),
                        "last_error": app.lastError.isEmpty ? .null : .string(app.lastError),
                    ]
                }),
            ])
        } else {
            print("logged out \(username): \(ended.count) session\(ended.count == 1 ? "" : "s") ended")
            if report.apps.isEmpty {
                print("no app of these sessions registered a back-channel logout URI")
            } else {
                var table = Table("APP", "DELIVERED", "PENDING", "FAILED", "LAST_ERROR")
                for app in report.apps {
                    table.add(app.clientID, "\(app.delivered)", "\(app.pending)", "\(app.failed)", app.lastError)
                }
                table.print()
            }
        }
        if let reason = report.problem { throw CLIFailure(reason) }
    }
}

/// Back-channel logout delivery per app, for `logout --wait`.
struct LogoutReport {
    struct App {
        var clientID: String
        var delivered = 0
        var pending = 0
        var failed = 0
        var lastError = ""
    }

    var apps: [App]
    var timedOut: Bool

    var allDelivered: Bool { apps.allSatisfy { $0.pending == 0 && $0.failed == 0 } }

    /// Why the exit status is 1, or `nil` when every notification was delivered.
    var problem: String? {
        guard !allDelivered else { return nil }
        let failed = apps.filter { $0.failed > 0 }.map(\.clientID)
        let pending = apps.filter { $0.pending > 0 }.map(\.clientID)
        var parts: [String] = []
        if !failed.isEmpty { parts.append("failed at \(failed.joined(separator: ", "))") }
        if !pending.isEmpty { parts.append("still pending at \(pending.joined(separator: ", "))\(timedOut ? " after the timeout" : "")") }
        return "back-channel logout not acknowledged: " + parts.joined(separator: "; ")
    }

    /// Polls the delivery status of `sessions` until nothing is pending or `timeout` passed.
    /// Only clients that registered a back-channel logout URI count.
    static func wait(for sessions: [String], store: HallpassStore, timeout: Double) async throws -> LogoutReport {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        let registered = Set(try await store.clients().filter { !($0.backchannelLogoutURI ?? "").isEmpty }.map(\.id))
        while true {
            let statuses = try await store.logoutDeliveries(sessionIDs: sessions).filter { registered.contains($0.clientID) }
            var apps: [String: App] = [:]
            for status in statuses {
                var app = apps[status.clientID] ?? App(clientID: status.clientID)
                switch status.state {
                case .delivered: app.delivered += 1
                case .pending: app.pending += 1
                case .failed: app.failed += 1
                }
                if status.state != .delivered, !status.lastError.isEmpty { app.lastError = status.lastError }
                apps[status.clientID] = app
            }
            let sorted = apps.values.sorted { $0.clientID < $1.clientID }
            let pending = sorted.contains { $0.pending > 0 }
            let timedOut = ContinuousClock.now >= deadline
            if !pending || timedOut { return LogoutReport(apps: sorted, timedOut: pending && timedOut) }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
