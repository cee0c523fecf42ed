import ArgumentParser
import HallpassJOSE
import HallpassStore

/// `hallpass sessions ...`
struct Sessions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List live sessions (logins) and end one.",
        subcommands: [List.self, Revoke.self])

    func run() async throws {
        try Hallpass.missingSubcommand(Self.self)
    }
}

extension Sessions {
    /// `sessions list [USER]`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List live sessions: of one user, or of everyone.",
            discussion: """
                One row per session (one login): its id (sid), the user, when the user logged in, \
                when a client last logged in or refreshed, when the session ends unless \
                refreshed, the address and user agent of the login (the user agent cut to 64 \
                bytes), and the clients holding tokens in it. Times are UTC.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("Only this user's sessions (login name).", valueName: "user"))
        var user: String?

        func validate() throws {
            if let user { try Users.checkName(user) }
        }

        func run() async throws {
            let (sessions, names) = try await StoreConnection.run(global) { connection -> ([SessionRecord], [String: String]) in
                if let user {
                    let record = try await connection.existingUser(user)
                    return (try await connection.store.sessions(ofUser: record.id), [record.id: record.username])
                }
                let users = try await connection.store.users()
                let names = Dictionary(users.map { ($0.id, $0.username) }, uniquingKeysWith: { first, _ in first })
                return (try await connection.store.allSessions(), names)
            }
            if global.json {
                Console.json(.array(sessions.map { Self.json($0, username: names[$0.userID]) }))
                return
            }
            guard !sessions.isEmpty else {
                Console.note(user.map { "no live sessions of \($0)" } ?? "no live sessions")
                return
            }
            var table = Table("SID", "USER", "STARTED", "LAST_SEEN", "ENDS", "IP", "USER_AGENT", "CLIENTS")
            for session in sessions {
                table.add(
                    session.id, names[session.userID] ?? session.userID, Console.timestamp(session.authTime, seconds: true),
                    Console.timestamp(session.lastSeen / 1000, seconds: true), Console.timestamp(session.expiresAt / 1000, seconds: true),
                    session.remoteAddress, session.userAgent, session.clients.joined(separator: ","))
            }
            table.print()
        }

        /// A session as `sessions list --json` prints it; times in Unix seconds.
        static func json(_ session: SessionRecord, username: String?) -> JSONValue {
            [
                "sid": .string(session.id),
                "user": username.map { .string($0) } ?? .null,
                "user_id": .string(session.userID),
                "started_at": .integer(session.authTime),
                "last_seen_at": .integer(session.lastSeen / 1000),
                "expires_at": .integer(session.expiresAt / 1000),
                "ip": .string(session.remoteAddress),
                "user_agent": .string(session.userAgent),
                "clients": .array(session.clients.map { .string($0) }),
            ]
        }
    }

    /// `sessions revoke SID`
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "End one session at every app at once.",
            discussion: """
                The session's refresh tokens stop working and validators reject its access \
                tokens. The user's other sessions go on (`hallpass logout USER` ends them all). \
                Refused (exit 1) when no live session has this id. With --json, prints \
                {"sid": ..., "user": ..., "ended": true}.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The session id (sid), as `sessions list` shows it.", valueName: "sid"))
        var sid: String

        func validate() throws { try Hallpass.checkIdentifier(sid, "a session id") }

        func run() async throws {
            let username = try await StoreConnection.run(global) { connection -> String in
                guard let userID = try await connection.store.endSession(sid, reason: "revoked", actor: GlobalOptions.actor) else {
                    throw CLIFailure("no live session \(sid)")
                }
                return try await connection.store.user(id: userID)?.username ?? userID
            }
            if global.json {
                Console.json(["sid": .string(sid), "user": .string(username), "ended": .bool(true)])
            } else {
                print("ended session \(sid) of \(username)")
            }
        }
    }
}
