import ArgumentParser
import HallpassJOSE
import HallpassStore

/// `hallpass tokens ...`
struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Revoke a single access token.",
        subcommands: [Revoke.self])

    func run() async throws {
        try Hallpass.missingSubcommand(Self.self)
    }
}

extension Tokens {
    /// `tokens revoke JTI`
    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Revoke one access token by its id (the jti claim); its session lives on.",
            discussion: """
                Validators and the hub reject that one token from now on; the session, its \
                refresh token and the user's other tokens are untouched (`sessions revoke SID` or \
                `logout USER` end more). Hallpass keeps no list of issued tokens, so any id is \
                accepted; the record is kept for the longest access-token lifetime. With --json, \
                prints {"jti": ..., "revoked": true, "already_revoked": BOOL}.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The token's jti claim.", valueName: "jti"))
        var jti: String

        func validate() throws { try Hallpass.checkIdentifier(jti, "a token id") }

        func run() async throws {
            let isNew = try await StoreConnection.run(global) { connection in
                try await connection.store.revokeTokenID(jti, expiresAt: nil, actor: GlobalOptions.actor)
            }
            if global.json {
                Console.json(["jti": .string(jti), "revoked": .bool(true), "already_revoked": .bool(!isNew)])
            } else {
                print(isNew ? "revoked access token \(jti)" : "access token \(jti) was already revoked")
            }
        }
    }
}
