import ArgumentParser
import HallpassCrypto
import HallpassJOSE
import HallpassStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `hallpass keys ...`
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "List, rotate and withdraw the token-signing keys.",
        discussion: """
            A key's life: `next` (published in JWKS, not signing yet) -> `active` (signs new \
            tokens) -> `retiring` (a newer key signs; still published until every token it \
            signed has expired) -> deleted. Hubs and validators follow each step by themselves. \
            `withdraw` cuts a key's life short, for a key that may have leaked.

            Keys come in chains, each with one active key: the primary chain signs access \
            tokens, logout tokens and the ID tokens of most clients; one ID-token chain per \
            algorithm (ES256, EdDSA, RS256, made by the hubs) signs the ID tokens of clients \
            registered with `clients add --id-token-alg`.
            """,
        subcommands: [List.self, Rotate.self, Withdraw.self])

    func run() async throws {
        try Hallpass.missingSubcommand(Self.self)
    }
}

/// The algorithms `keys rotate --alg` accepts (the hub's: never `none`, never HMAC).
enum KeyAlgorithm: String, CaseIterable, ExpressibleByArgument {
    case es256 = "ES256"
    case edDSA = "EdDSA"
    case rs256 = "RS256"

    var jws: JWSAlgorithm {
        switch self {
        case .es256: .es256
        case .edDSA: .edDSA
        case .rs256: .rs256
        }
    }
}

extension Keys {
    /// `keys list`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the signing keys: kid, algorithm, state and dates (UTC).",
            discussion: """
                USE is primary (access tokens, logout tokens, ID tokens by default) or id_token \
                (ID tokens of clients registered for its algorithm). STATE, within the key's \
                chain, is next (announced in JWKS, signs from ACTIVATES), active (signs new \
                tokens), retiring (published until RETIRES, when its last tokens have expired) or \
                retired (no longer published; hubs delete it shortly). Private keys are never \
                shown. With --json, prints an array of {"kid", "alg", "use", "state", \
                "created_at", "activates_at", "retires_at"} (Unix seconds, retires_at null while \
                unset).
                """)

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let keys = try await StoreConnection.run(global) { try await $0.store.signingKeys() }
            let now = HallpassStore.wallClockMilliseconds() / 1000
            let ordered = keys.sorted {
                ($0.use == .primary ? 0 : 1, $0.algorithm, $0.activatesAt, $0.createdAt, $0.keyID)
                    < ($1.use == .primary ? 0 : 1, $1.algorithm, $1.activatesAt, $1.createdAt, $1.keyID)
            }
            if global.json {
                Console.json(.array(ordered.map { Self.json($0, state: $0.state(at: now, among: keys)) }))
                return
            }
            guard !ordered.isEmpty else {
                Console.note("no signing keys yet: the first hub to start creates one (or run `hallpass keys rotate`)")
                return
            }
            var table = Table("KID", "ALG", "USE", "STATE", "CREATED", "ACTIVATES", "RETIRES")
            for key in ordered {
                table.add(
                    key.keyID, key.algorithm, key.use.rawValue, key.state(at: now, among: keys).rawValue,
                    Console.timestamp(key.createdAt, seconds: true), Console.timestamp(key.activatesAt, seconds: true),
                    key.retiresAt.map { Console.timestamp($0, seconds: true) } ?? "")
            }
            table.print()
        }

        static func json(_ key: StoredSigningKey, state: SigningKeyState) -> JSONValue {
            [
                "kid": .string(key.keyID),
                "alg": .string(key.algorithm),
                "use": .string(key.use.rawValue),
                "state": .string(state.rawValue),
                "created_at": .integer(key.createdAt),
                "activates_at": .integer(key.activatesAt),
                "retires_at": key.retiresAt.map { .integer($0) } ?? .null,
            ]
        }
    }

    /// `keys rotate [--alg ES256|EdDSA|RS256] [--activate-now | --activation-delay SECONDS] [--kek-file PATH]`
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Rotate the signing keys: new keys published now, signing after an activation delay.",
            discussion: """
                The new key appears in JWKS at once and starts signing after the activation \
                delay (default 600 s, long enough for JWKS caches: the hub lets them keep JWKS \
                for 60 s), so no validator ever sees a token signed by a key it has not fetched. \
                The key signing now keeps signing until then, and stays published for the \
                longest access-token lifetime plus clock skew after that (3660 s), so its tokens \
                stay valid until they expire; then it is deleted. --activate-now skips the delay: \
                validators that cached JWKS must then refetch on an unknown kid. Hubs pick up \
                each step with no restart. Every chain rotates: the primary key (to --alg, if \
                given) and each ID-token key (in its own algorithm), on the same schedule.

                The private key is sealed with the key-encryption key the hubs use (--kek-file or \
                HALLPASS_KEK_FILE); without one it is stored unencrypted, as hubs without a KEK \
                do. With --json, prints {"kid", "alg", "activates_at", "retiring": [{"kid", \
                "retires_at"}], "deleted": [kid], "id_token_keys": [{"kid", "alg", \
                "activates_at"}]} (kid and alg: the new primary key).
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp(
            "Algorithm of the new key: ES256, EdDSA or RS256 (default: that of the key signing now, else ES256).",
            valueName: "alg"))
        var alg: KeyAlgorithm?

        @Flag(help: "Sign with the new key at once, instead of after the activation delay.")
        var activateNow = false

        @Option(help: ArgumentHelp("Seconds between announcing the new key and signing with it (default 600).", valueName: "seconds"))
        var activationDelay: Int64?

        @Option(help: ArgumentHelp(
            "File with the hubs' key-encryption key, 64 hex digits (env HALLPASS_KEK_FILE).", valueName: "path"))
        var kekFile: String?

        static let defaultActivationDelay: Int64 = 600

        func validate() throws {
            if activateNow && activationDelay != nil {
                throw ValidationError("--activate-now and --activation-delay exclude each other")
            }
            if let activationDelay, !(0...(30 * 86_400)).contains(activationDelay) {
                throw ValidationError("--activation-delay is 0 to 2592000 seconds (30 days)")
            }
        }

        func run() async throws {
            let kek = try Keys.loadKEK(kekFile)
            let delay = activateNow ? 0 : activationDelay ?? Self.defaultActivationDelay
            let chosen = alg?.jws
            let rotations = try await StoreConnection.run(global) { connection -> [SigningKeyRotation] in
                let existing = try await connection.store.signingKeys()
                let now = connection.store.clock() / 1000
                let current = SigningKeySet.signingKey(in: existing, at: now)
                try Keys.checkKEK(kek, against: existing.filter { $0.isPublished(at: now) })
                let algorithm = chosen ?? current.flatMap { JWSAlgorithm(rawValue: $0.algorithm) } ?? .es256
                let key = try await Keys.generate(algorithm, kek: kek, createdAt: now, activatesAt: now + delay)
                var rotations = [try await connection.store.rotateSigningKeys(adding: key, actor: GlobalOptions.actor)]
                // Then each ID-token chain the hubs keep, each in its own compare-and-set: a
                // failure part-way leaves every chain with a signer.
                let chains = Set(existing.filter { $0.use == .idToken && $0.isPublished(at: now) }.map(\.algorithm))
                for algorithm in JWSAlgorithm.allCases where chains.contains(algorithm.rawValue) {
                    let key = try await Keys.generate(algorithm, kek: kek, createdAt: now, activatesAt: now + delay, use: .idToken)
                    rotations.append(try await connection.store.rotateSigningKeys(adding: key, actor: GlobalOptions.actor))
                }
                try await connection.confirmAtHubs()
                return rotations
            }
            let rotation = rotations[0]
            let added = rotation.added
            if global.json {
                Console.json([
                    "kid": .string(added.keyID),
                    "alg": .string(added.algorithm),
                    "activates_at": .integer(added.activatesAt),
                    "retiring": .array(rotation.retiring.map {
                        ["kid": .string($0.keyID), "retires_at": $0.retiresAt.map { .integer($0) } ?? .null]
                    }),
                    "deleted": .array(Set(rotations.flatMap(\.deleted)).sorted().map { .string($0) }),
                    "id_token_keys": .array(rotations.dropFirst().map {
                        ["kid": .string($0.added.keyID), "alg": .string($0.added.algorithm), "activates_at": .integer($0.added.activatesAt)]
                    }),
                ])
                return
            }
            let now = HallpassStore.wallClockMilliseconds() / 1000
            for rotation in rotations {
                let added = rotation.added
                let wait = added.activatesAt - now
                print("new \(added.use == .primary ? "" : "ID-token ")key \(added.keyID) (\(added.algorithm)): published now, signs from "
                    + Console.timestamp(added.activatesAt, seconds: true) + (wait > 0 ? " (in \(wait) s)" : " (now)"))
                for key in rotation.retiring {
                    print("retiring \(key.keyID) (\(key.algorithm)): published until "
                        + Console.timestamp(key.retiresAt ?? 0, seconds: true) + ", when its last tokens have expired")
                }
            }
            for kid in Set(rotations.flatMap(\.deleted)).sorted() { print("deleted \(kid) (retired, or announced and never used)") }
            if kek == nil { Console.note("note: no --kek-file: the new private key is stored unencrypted") }
        }
    }

    /// `keys withdraw --kid KID [--alg ES256|EdDSA|RS256] [--kek-file PATH]`
    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "withdraw",
            abstract: "Withdraw a signing key at once, for a key that may have leaked: its tokens stop verifying.",
            discussion: """
                Deletes the key from the store and from JWKS now, instead of at its retirement. \
                Validators reload their keys on the event within milliseconds and refuse every \
                token it signed from then on; hubs drop it within a second. If it is the key \
                signing now, a new key generated here (--alg, default the withdrawn key's) signs in \
                its place at once; no announced or retiring key is promoted. Refresh tokens are \
                not signed, so nobody is signed out: apps whose access tokens are refused refresh \
                them. Validators that cache JWKS over HTTP keep the key until they refetch (the \
                hub allows 60 s). A new key needs the hubs' key-encryption key when keys are \
                stored encrypted (--kek-file or HALLPASS_KEK_FILE). With --json, prints \
                {"withdrawn", "replacement": {"kid", "alg"} or null}.
                """)

        @OptionGroup var global: GlobalOptions

        // An option taken unconditionally, not a positional argument: a kid is base64url and may
        // start with "-", which a positional would parse as flags (`-h…` printing the help and
        // exiting 0, withdrawing nothing, in the middle of an incident).
        @Option(
            name: .customLong("kid"), parsing: .unconditional,
            help: ArgumentHelp("The key to withdraw, as `keys list` shows it (it may start with -).", valueName: "kid"))
        var kid: String

        @Option(help: ArgumentHelp(
            "Algorithm of the replacement, when one is needed: ES256, EdDSA or RS256 (default: the withdrawn key's).",
            valueName: "alg"))
        var alg: KeyAlgorithm?

        @Option(help: ArgumentHelp(
            "File with the hubs' key-encryption key, 64 hex digits (env HALLPASS_KEK_FILE).", valueName: "path"))
        var kekFile: String?

        func run() async throws {
            let kek = try Keys.loadKEK(kekFile)
            let kid = self.kid
            let chosen = alg?.jws
            let withdrawal = try await StoreConnection.run(global) { connection -> SigningKeyWithdrawal in
                let existing = try await connection.store.signingKeys()
                guard let target = existing.first(where: { $0.keyID == kid }) else {
                    throw CLIFailure("no signing key \(kid) (see `hallpass keys list`)")
                }
                let now = connection.store.clock() / 1000
                var replacement: StoredSigningKey?
                if HallpassStore.withdrawalNeedsReplacement(kid, in: existing, at: now) {
                    try Keys.checkKEK(kek, against: existing.filter { $0.isPublished(at: now) })
                    let algorithm = chosen ?? JWSAlgorithm(rawValue: target.algorithm) ?? .es256
                    // An ID-token chain is one algorithm's: its replacement keeps it.
                    if target.use == .idToken, algorithm.rawValue != target.algorithm {
                        throw CLIFailure("\(kid) is the \(target.algorithm) ID-token key: its replacement is \(target.algorithm) too (drop --alg)")
                    }
                    replacement = try await Keys.generate(algorithm, kek: kek, createdAt: now, activatesAt: now, use: target.use)
                }
                let withdrawal = try await connection.store.withdrawSigningKey(kid, replacement: replacement, actor: GlobalOptions.actor)
                try await connection.confirmAtHubs()
                return withdrawal
            }
            if global.json {
                Console.json([
                    "withdrawn": .string(withdrawal.withdrawn.keyID),
                    "replacement": withdrawal.replacement.map { ["kid": .string($0.keyID), "alg": .string($0.algorithm)] } ?? .null,
                ])
                return
            }
            print("withdrew \(withdrawal.withdrawn.keyID) (\(withdrawal.withdrawn.algorithm)): tokens it signed no longer verify")
            if let replacement = withdrawal.replacement {
                print("new key \(replacement.keyID) (\(replacement.algorithm)) signs from now")
                if kek == nil { Console.note("note: no --kek-file: the new private key is stored unencrypted") }
            }
        }
    }

    /// Refuses a new key the hubs could not use: keys are sealed and no KEK is given, or the
    /// given KEK is not theirs.
    static func checkKEK(_ kek: SymmetricKey?, against keys: [StoredSigningKey]) throws {
        guard let sealed = keys.first(where: \.isSealed) else {
            if kek != nil, !keys.isEmpty {
                Console.note(
                    "note: the stored keys are unencrypted, so the hubs may run without a key-encryption key; "
                        + "they can sign with the new, encrypted key only once they run with this --kek-file")
            }
            return
        }
        guard let kek else {
            throw CLIFailure("the signing keys are stored encrypted: pass the hubs' key-encryption key with --kek-file or HALLPASS_KEK_FILE")
        }
        let problem: SigningKeyError?
        do {
            _ = try sealed.signer(kek: kek)
            problem = nil
        } catch {
            problem = error
        }
        guard let problem else { return }
        if case .wrongKEK = problem {
            throw CLIFailure("the key-encryption key does not open the stored signing key \(sealed.keyID): it is not the hubs' key")
        }
        throw CLIFailure(problem.description)
    }

    /// The key-encryption key, if a file is named (`--kek-file`, else `HALLPASS_KEK_FILE`).
    static func loadKEK(_ kekFile: String?) throws -> SymmetricKey? {
        let path = kekFile ?? getenv("HALLPASS_KEK_FILE").map { String(cString: $0) }
        guard let path, !path.isEmpty else { return nil }
        do {
            let (key, exposed) = try KeyEncryptionKeyFile.load(path: path)
            if exposed { Console.note("warning: \(path) can be read by other users; chmod 600 it") }
            return key
        } catch {
            throw CLIFailure("\(error)")
        }
    }

    /// A new signing key, generated off the cooperative pool (RSA generation takes a while).
    static func generate(
        _ algorithm: JWSAlgorithm, kek: SymmetricKey?, createdAt: Int64, activatesAt: Int64, use: SigningKeyUse = .primary
    ) async throws -> StoredSigningKey {
        try await Blocking.run { () throws -> StoredSigningKey in
            do {
                return try StoredSigningKey.generate(algorithm: algorithm, kek: kek, createdAt: createdAt, activatesAt: activatesAt, use: use)
            } catch {
                throw CLIFailure("cannot generate a \(algorithm.rawValue) key: \(error)")
            }
        }
    }
}
