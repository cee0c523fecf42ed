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
            With --json, prints {"user": ..., "sessions_ended": N}.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The user's login name.", valueName: "user"))
    var user: String

    func validate() throws { try Users.checkName(user) }

    func run() async throws {
        let (username, ended) = try await StoreConnection.run(global) { connection -> (String, Int) in
            let record = try await connection.existingUser(user)
            let ended = try await connection.store.endSessions(
                ofUser: record.id, reason: "forced_logout", actor: GlobalOptions.actor, revokeIssuedTokens: true)
            return (record.username, ended)
        }
        if global.json {
            Console.json(["user": .string(username), "sessions_ended": .integer(Int64(ended))])
        } else {
            print("logged out \(username): \(ended) session\(ended == 1 ? "" : "s") ended")
        }
    }
}
