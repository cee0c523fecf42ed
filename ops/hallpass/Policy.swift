import ArgumentParser
import HallpassJOSE
import HallpassStore

/// `hallpass policy ...`
struct Policy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Show and set the single-login and second-factor policies, for everyone or for one user.",
        subcommands: [Show.self, SetPolicy.self])

    func run() async throws {
        try Hallpass.missingSubcommand(Self.self)
    }
}

/// The settings `policy set` knows.
enum PolicySetting: String, CaseIterable, ExpressibleByArgument {
    case singleLogin = "single-login"
    case mfa

    /// The values the setting takes, for messages.
    var values: String {
        switch self {
        case .singleLogin: "newest-wins, deny-new or off"
        case .mfa: "required or optional"
        }
    }

    func accepts(_ value: String) -> Bool {
        switch self {
        case .singleLogin: SingleLoginPolicy(rawValue: value) != nil
        case .mfa: SecondFactorPolicy(rawValue: value) != nil
        }
    }
}

extension Policy {
    /// What a hub does when no global policy is stored: its `--single-login` flag, whose
    /// default is the contract's.
    static let unsetGlobal = "not set: each hub's --single-login flag applies (default newest-wins)"

    /// `policy show`
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show the global policies and every per-user override.",
            discussion: """
                single-login decides what happens when a user with a live session logs in again: \
                newest-wins ends the other sessions, deny-new refuses the new login, off allows \
                any number. mfa decides whether users must have a second factor (required) or \
                choose (optional, the default). A user's own setting wins over the global one. \
                With --json, prints {"single_login": {"global": POLICY or null, "users": [{"user", \
                "id", "policy"}]}, "mfa": {"global": ..., "users": [...]}}.
                """)

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let (globalPolicy, globalMFA, users) = try await StoreConnection.run(global) { connection in
                (
                    try await connection.store.globalSingleLoginPolicy(), try await connection.store.globalSecondFactorPolicy(),
                    try await connection.store.users()
                )
            }
            let overrides = users.filter { $0.singleLoginPolicy != nil }
            let mfaOverrides = users.filter { $0.secondFactorPolicy != nil }
            if global.json {
                let users: [JSONValue] = overrides.map {
                    ["user": .string($0.username), "id": .string($0.id), "policy": .string($0.singleLoginPolicy?.rawValue ?? "")]
                }
                let mfaUsers: [JSONValue] = mfaOverrides.map {
                    ["user": .string($0.username), "id": .string($0.id), "policy": .string($0.secondFactorPolicy?.rawValue ?? "")]
                }
                Console.json([
                    "single_login": ["global": globalPolicy.map { .string($0.rawValue) } ?? .null, "users": .array(users)],
                    "mfa": ["global": globalMFA.map { .string($0.rawValue) } ?? .null, "users": .array(mfaUsers)],
                ])
                return
            }
            var table = Table("SCOPE", "SETTING", "VALUE")
            table.add("global", "single-login", globalPolicy?.rawValue ?? Policy.unsetGlobal)
            table.add("global", "mfa", globalMFA?.rawValue ?? "not set: optional")
            for user in overrides {
                table.add("user \(user.username)", "single-login", user.singleLoginPolicy?.rawValue ?? "")
            }
            for user in mfaOverrides {
                table.add("user \(user.username)", "mfa", user.secondFactorPolicy?.rawValue ?? "")
            }
            table.print()
        }
    }

    /// `policy set single-login newest-wins|deny-new|off [--user USER]`
    struct SetPolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set the single-login or second-factor (mfa) policy globally, or for one user with --user.",
            discussion: """
                single-login: newest-wins (a new login ends the user's other sessions at once), \
                deny-new (a new login is refused while a session is live), off (any number of \
                sessions). With --user, `default` removes the user's own setting so the global \
                one applies again. Hubs apply the change from the next login on; sessions that \
                are live now are not ended by it. mfa: required (a user without a second factor \
                must set one up at the next sign-in, before any code or token is issued) or \
                optional.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The setting: single-login or mfa.", valueName: "setting"))
        var setting: PolicySetting

        @Argument(help: ArgumentHelp(
            "single-login: newest-wins, deny-new or off; mfa: required or optional (with --user also default).", valueName: "value"))
        var value: String

        @Option(help: ArgumentHelp("Set it for this user only (login name).", valueName: "user"))
        var user: String?

        func validate() throws {
            if let user { try Users.checkName(user) }
            if value == "default" {
                guard user != nil else {
                    throw ValidationError("'default' only applies with --user (it removes a user's own setting)")
                }
            } else if !setting.accepts(value) {
                throw ValidationError("\(setting.rawValue) is \(setting.values), not '\(value)'")
            }
        }

        func run() async throws {
            let username = try await StoreConnection.run(global) { connection -> String? in
                let store = connection.store
                let actor = GlobalOptions.actor
                if let user {
                    let record = try await connection.existingUser(user)
                    switch setting {
                    case .singleLogin: try await store.setSingleLoginPolicy(SingleLoginPolicy(rawValue: value), forUser: record.id, actor: actor)
                    case .mfa: try await store.setSecondFactorPolicy(SecondFactorPolicy(rawValue: value), forUser: record.id, actor: actor)
                    }
                    return record.username
                }
                switch setting {
                case .singleLogin:
                    guard let policy = SingleLoginPolicy(rawValue: value) else { throw CLIFailure("'default' only applies with --user") }
                    try await store.setGlobalSingleLoginPolicy(policy, actor: actor)
                case .mfa:
                    guard let policy = SecondFactorPolicy(rawValue: value) else { throw CLIFailure("'default' only applies with --user") }
                    try await store.setGlobalSecondFactorPolicy(policy, actor: actor)
                }
                // Hubs read policies from Redis on every grant; waiting costs one read when
                // every hub is current, and keeps the promise if a hub ever caches them.
                try await connection.confirmAtHubs()
                return nil
            }
            if global.json {
                Console.json([
                    "setting": .string(setting.rawValue), "value": .string(value),
                    "user": username.map { .string($0) } ?? .null,
                ])
            } else if let username {
                print(value == "default"
                    ? "\(setting.rawValue) for \(username): default (the global policy applies)"
                    : "\(setting.rawValue) for \(username): \(value)")
            } else {
                print("\(setting.rawValue) (global): \(value)")
            }
        }
    }
}
