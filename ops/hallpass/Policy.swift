import ArgumentParser
import HallpassJOSE
import HallpassStore

/// `hallpass policy ...`
struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Show and set the single-login policy, for everyone or for one user.",
        subcommands: [Show.self, SetPolicy.self])

    func run() async throws {
        try Hallpass.missingSubcommand(Self.self)
    }
}

/// The settings `policy set` knows.
enum PolicySetting: String, CaseIterable, ExpressibleByArgument {
    case singleLogin = "single-login"
}

extension Policy {
    /// What a hub does when no global policy is stored: its `--single-login` flag, whose
    /// default is the contract's.
    static let unsetGlobal = "not set: each hub's --single-login flag applies (default newest-wins)"

    /// `policy show`
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show the global single-login policy and every per-user override.",
            discussion: """
                single-login decides what happens when a user with a live session logs in again: \
                newest-wins ends the other sessions, deny-new refuses the new login, off allows \
                any number. A user's own setting wins over the global one. With --json, prints \
                {"single_login": {"global": POLICY or null, "users": [{"user", "id", "policy"}]}}.
                """)

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let (globalPolicy, users) = try await StoreConnection.run(global) { connection in
                (try await connection.store.globalSingleLoginPolicy(), try await connection.store.users())
            }
            let overrides = users.filter { $0.singleLoginPolicy != nil }
            if global.json {
                let users: [JSONValue] = overrides.map {
                    ["user": .string($0.username), "id": .string($0.id), "policy": .string($0.singleLoginPolicy?.rawValue ?? "")]
                }
                Console.json([
                    "single_login": ["global": globalPolicy.map { .string($0.rawValue) } ?? .null, "users": .array(users)]
                ])
                return
            }
            var table = Table("SCOPE", "SINGLE-LOGIN")
            table.add("global", globalPolicy?.rawValue ?? Policy.unsetGlobal)
            for user in overrides {
                table.add("user \(user.username)", user.singleLoginPolicy?.rawValue ?? "")
            }
            table.print()
        }
    }

    /// `policy set single-login newest-wins|deny-new|off [--user USER]`
    struct SetPolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set the single-login policy globally, or for one user with --user.",
            discussion: """
                Values: newest-wins (a new login ends the user's other sessions at once), \
                deny-new (a new login is refused while a session is live), off (any number of \
                sessions). With --user, `default` removes the user's own setting so the global \
                one applies again. Hubs apply the change from the next login on; sessions that \
                are live now are not ended by it.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The setting: single-login.", valueName: "setting"))
        var setting: PolicySetting

        @Argument(help: ArgumentHelp(
            "newest-wins, deny-new or off (with --user also default).", valueName: "value"))
        var value: String

        @Option(help: ArgumentHelp("Set it for this user only (login name).", valueName: "user"))
        var user: String?

        func validate() throws {
            if let user { try Users.checkName(user) }
            if value == "default" {
                guard user != nil else {
                    throw ValidationError("'default' only applies with --user (it removes a user's own setting)")
                }
            } else if SingleLoginPolicy(rawValue: value) == nil {
                throw ValidationError("single-login is newest-wins, deny-new or off, not '\(value)'")
            }
        }

        func run() async throws {
            let policy = SingleLoginPolicy(rawValue: value)
            let username = try await StoreConnection.run(global) { connection -> String? in
                if let user {
                    let record = try await connection.existingUser(user)
                    try await connection.store.setSingleLoginPolicy(policy, forUser: record.id, actor: GlobalOptions.actor)
                    return record.username
                }
                guard let policy else { throw CLIFailure("'default' only applies with --user") }
                try await connection.store.setGlobalSingleLoginPolicy(policy, actor: GlobalOptions.actor)
                return nil
            }
            if global.json {
                Console.json([
                    "setting": .string(setting.rawValue), "value": .string(value),
                    "user": username.map { .string($0) } ?? .null,
                ])
            } else if let username {
                print(policy == nil
                    ? "single-login for \(username): default (the global policy applies)"
                    : "single-login for \(username): \(value)")
            } else {
                print("single-login (global): \(value)")
            }
        }
    }
}
