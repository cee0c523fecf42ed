import ArgumentParser
import HallpassJOSE
import HallpassPasswords
import HallpassStore

/// `hallpass users ...`
struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Add, list, disable and enable users; set a user's password.",
        subcommands: [Add.self, List.self, Passwd.self, Disable.self, Enable.self, MFA.self])

    func run() async throws {
        try Hallpass.missingSubcommand(Self.self)
    }

    /// Refuses (as bad usage) a name no user can have.
    static func checkName(_ user: String) throws {
        guard HallpassStore.isValidUsername(user) else {
            throw ValidationError("'\(user)' is not a valid username: use 1-64 characters of A-Z a-z 0-9 . _ @ + -, not starting with -")
        }
    }

    /// Reads a new password (standard input or the terminal) and hashes it with Argon2id,
    /// off the cooperative pool; the password bytes are wiped.
    static func readAndHashPassword(for user: String, fromStandardInput: Bool) async throws -> String {
        try await Blocking.run { () throws -> String in
            var password = fromStandardInput ? try PasswordInput.fromStandardInput() : try PasswordInput.prompt(for: user)
            defer { PasswordInput.wipe(&password) }
            do {
                return try PasswordHasher(parameters: .owasp).hash(String(decoding: password, as: UTF8.self))
            } catch {
                throw CLIFailure("cannot hash the password: \(error)")
            }
        }
    }
}

extension Users {
    /// `users add USER [--password-stdin] [--name NAME] [--email EMAIL [--email-verified]]`
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Create a user.",
            discussion: """
                Without --password-stdin, prompts twice for the password on the terminal, with \
                echo off. The password is hashed with Argon2id (OWASP parameters); only the hash \
                is stored. With --json, prints {"id": ..., "username": ...}; the id is the `sub` \
                of the user's tokens.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp(
            "Login name: 1-64 characters of A-Z a-z 0-9 . _ @ + -, matched without regard to case.",
            valueName: "user"))
        var user: String

        @Flag(help: "Read the password as one line from standard input instead of prompting.")
        var passwordStdin = false

        @Option(help: "Display name.")
        var name: String?

        @Option(help: "E-mail address.")
        var email: String?

        @Flag(help: "Vouch for the --email address: tokens then say email_verified true (Hallpass sends no verification mail).")
        var emailVerified = false

        func validate() throws {
            try Users.checkName(user)
            if emailVerified, (email ?? "").isEmpty {
                throw ValidationError("--email-verified needs --email")
            }
            if let name {
                guard name.utf8.count <= 256, !name.unicodeScalars.contains(where: Self.isControl) else {
                    throw ValidationError("--name: at most 256 bytes, no control characters")
                }
            }
            if let email, !email.isEmpty {
                let parts = email.split(separator: "@", omittingEmptySubsequences: false)
                guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
                    !email.unicodeScalars.contains(where: { Self.isControl($0) || $0 == " " })
                else {
                    throw ValidationError("--email: '\(email)' is not an e-mail address")
                }
            }
        }

        static func isControl(_ scalar: Unicode.Scalar) -> Bool {
            scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
        }

        func run() async throws {
            let (user, fromStdin) = (self.user, passwordStdin)
            try await StoreConnection.run(global) { connection in
                // Before asking for a password: Redis answers and the name is free.
                if try await connection.store.user(named: user) != nil {
                    throw CLIFailure("user \(user) exists")
                }
                let phc = try await Users.readAndHashPassword(for: user, fromStandardInput: fromStdin)
                let record = try await connection.store.createUser(
                    username: user, passwordHash: phc, name: name ?? "", email: email ?? "", emailVerified: emailVerified,
                    actor: GlobalOptions.actor)
                if global.json {
                    Console.json(["id": .string(record.id), "username": .string(record.username)])
                } else {
                    print("created user \(record.username) (id \(record.id))")
                }
            }
        }
    }

    /// `users list`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List every user, ordered by username.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let users = try await StoreConnection.run(global) { try await $0.store.users() }
            if global.json {
                Console.json(.array(users.map(Self.json)))
                return
            }
            guard !users.isEmpty else {
                Console.note("no users")
                return
            }
            var table = Table("USERNAME", "ID", "NAME", "EMAIL", "STATUS", "MFA", "SINGLE-LOGIN", "CREATED")
            for user in users {
                var mfa = user.hasSecondFactor ? "totp" : "none"
                if let policy = user.secondFactorPolicy { mfa += " (\(policy.rawValue))" }
                table.add(
                    user.username, user.id, user.name, user.email, user.isDisabled ? "disabled" : "active", mfa,
                    user.singleLoginPolicy?.rawValue ?? "default", Console.timestamp(user.createdAt))
            }
            table.print()
        }

        /// A user as `users list --json` prints it; never the password hash.
        static func json(_ user: UserRecord) -> JSONValue {
            [
                "id": .string(user.id),
                "username": .string(user.username),
                "name": .string(user.name),
                "email": .string(user.email),
                "email_verified": .bool(user.emailVerified),
                "disabled": .bool(user.isDisabled),
                "single_login": user.singleLoginPolicy.map { .string($0.rawValue) } ?? .null,
                "mfa": user.hasSecondFactor ? "totp" : .null,
                "mfa_policy": user.secondFactorPolicy.map { .string($0.rawValue) } ?? .null,
                "created_at": .integer(user.createdAt),
            ]
        }
    }

    /// `users passwd USER [--password-stdin]`
    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "passwd",
            abstract: "Set a user's password.",
            discussion: """
                Without --password-stdin, prompts twice on the terminal with echo off. The user's \
                live sessions go on; run `hallpass logout USER` as well if the old password may \
                have been stolen.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The user's login name.", valueName: "user"))
        var user: String

        @Flag(help: "Read the password as one line from standard input instead of prompting.")
        var passwordStdin = false

        func validate() throws { try Users.checkName(user) }

        func run() async throws {
            try await StoreConnection.run(global) { connection in
                let record = try await connection.existingUser(user)
                let phc = try await Users.readAndHashPassword(for: record.username, fromStandardInput: passwordStdin)
                try await connection.store.setPasswordHash(userID: record.id, passwordHash: phc, actor: GlobalOptions.actor)
                if global.json {
                    Console.json(["user": .string(record.username), "id": .string(record.id), "password_changed": .bool(true)])
                } else {
                    print("changed the password of \(record.username)")
                }
            }
        }
    }

    /// `users disable USER`
    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable",
            abstract: "Disable a user: refuse their logins and end all their sessions now.",
            discussion: """
                Every session of the user ends at once and every token issued to them so far is \
                void (refresh tokens fail at the hub; validators reject the access tokens). \
                `hallpass users enable USER` lets them log in again. With --json, prints \
                {"user": ..., "disabled": true, "sessions_ended": N}.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The user's login name.", valueName: "user"))
        var user: String

        func validate() throws { try Users.checkName(user) }

        func run() async throws {
            try await StoreConnection.run(global) { connection in
                let record = try await connection.existingUser(user)
                let ended = try await connection.store.disableUser(record.id, actor: GlobalOptions.actor)
                if global.json {
                    Console.json(["user": .string(record.username), "disabled": .bool(true), "sessions_ended": .integer(Int64(ended))])
                } else {
                    print("disabled \(record.username); \(ended) session\(ended == 1 ? "" : "s") ended")
                }
            }
        }
    }

    /// `users enable USER`
    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enable",
            abstract: "Let a disabled user log in again.",
            discussion: "Tokens issued before the user was disabled stay void.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The user's login name.", valueName: "user"))
        var user: String

        func validate() throws { try Users.checkName(user) }

        func run() async throws {
            try await StoreConnection.run(global) { connection in
                let record = try await connection.existingUser(user)
                try await connection.store.enableUser(record.id, actor: GlobalOptions.actor)
                if global.json {
                    Console.json(["user": .string(record.username), "disabled": .bool(false)])
                } else {
                    print("enabled \(record.username)")
                }
            }
        }
    }
}

extension Users {
    /// `users mfa reset USER`
    struct MFA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mfa",
            abstract: "Manage a user's second factor.",
            subcommands: [Reset.self])

        func run() async throws {
            try Hallpass.missingSubcommand(Self.self)
        }

        /// `users mfa reset USER`
        struct Reset: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "reset",
                abstract: "Remove a user's second factor (TOTP and recovery codes), e.g. after a lost phone.",
                discussion: """
                    The user signs in with the password alone next time, or, where the mfa policy \
                    is required, sets up a new second factor then. Live sessions go on. Logged as \
                    mfa_reset. With --json, prints {"user": ..., "removed": true|false}.
                    """)

            @OptionGroup var global: GlobalOptions

            @Argument(help: ArgumentHelp("The user's login name.", valueName: "user"))
            var user: String

            func validate() throws { try Users.checkName(user) }

            func run() async throws {
                try await StoreConnection.run(global) { connection in
                    let record = try await connection.existingUser(user)
                    let removed = try await connection.store.removeSecondFactor(userID: record.id, event: "mfa_reset", actor: GlobalOptions.actor)
                    if global.json {
                        Console.json(["user": .string(record.username), "removed": .bool(removed)])
                    } else {
                        print(removed ? "removed the second factor of \(record.username)" : "\(record.username) had no second factor")
                    }
                }
            }
        }
    }
}
