import ArgumentParser
import HallpassRedis
import HallpassStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The root command. Each command group lives in a file of its own (`Users.swift`,
/// `Clients.swift`, ...) and is listed here.
struct Hallpass: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hallpass",
        abstract: "Hallpass ops CLI: users, clients, sessions, revocation, policy, signing keys and the event log.",
        discussion: """
            Talks to Redis through the same code the hub uses, so it works while no hub runs, \
            and hubs see every change at once. Exit status: 0 on success, 1 when an action is \
            refused or fails (the reason is one line on stderr), 2 on bad usage.
            """,
        subcommands: [
            Users.self, Clients.self, Sessions.self, Logout.self, Tokens.self, Policy.self, Keys.self, Events.self, Placement.self,
        ])

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try Self.missingSubcommand(Self.self)
    }

    /// Refuses (as bad usage) an argument that cannot be an identifier Hallpass made or
    /// accepts (a sid, a jti): 1-128 printable ASCII characters, not starting with `-`.
    static func checkIdentifier(_ value: String, _ what: String) throws {
        guard (1...128).contains(value.utf8.count), !value.hasPrefix("-"),
            value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else { throw ValidationError("'\(value)' is not \(what): 1-128 printable ASCII characters, not starting with -") }
    }

    /// A command group run without a subcommand is bad usage: its help on stderr, exit 2.
    static func missingSubcommand(_ group: any ParsableCommand.Type) throws -> Never {
        Console.writeError(helpMessage(for: group))
        throw ExitCode(2)
    }

    /// Prints what ArgumentParser has to say about `error` and returns the exit status:
    /// help on stdout with 0, usage errors on stderr with 2, anything else on stderr with 1.
    static func report(_ error: any Error) -> Int32 {
        let code = exitCode(for: error)
        if code == .success {
            let text = fullMessage(for: error)
            if !text.isEmpty { print(text) }
            return 0
        }
        if code == .validationFailure {
            Console.writeError(fullMessage(for: error))
            return 2
        }
        let text = message(for: error)
        if !text.isEmpty { Console.error(text) }
        return code.rawValue == 0 ? 1 : code.rawValue
    }
}

/// Options every command takes, before or after the command name.
///
/// Declared with `@OptionGroup` in the root and in every leaf command; ArgumentParser decodes
/// them once and hands the same values to each.
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Redis URL, redis://user:pass@host:port/db or rediss:// for TLS (env HALLPASS_REDIS_URL; default redis://127.0.0.1:6379/0).",
        valueName: "url"))
    var redis: String?

    @Option(help: ArgumentHelp(
        "CA certificates (PEM) that a rediss:// server's certificate must chain to (env HALLPASS_REDIS_CA_FILE; default the system's).",
        valueName: "path"))
    var redisCaFile: String?

    @Option(help: ArgumentHelp(
        "Client certificate (PEM) for a Redis that requires one (env HALLPASS_REDIS_CERT_FILE; needs --redis-key-file).",
        valueName: "path"))
    var redisCertFile: String?

    @Option(help: ArgumentHelp("Private key (PEM) of --redis-cert-file (env HALLPASS_REDIS_KEY_FILE).", valueName: "path"))
    var redisKeyFile: String?

    @Option(help: ArgumentHelp(
        "Redis replicas that must acknowledge a revocation, logout or other security change before it is reported done; fewer in time exits 1 (env HALLPASS_DURABLE_REPLICAS; default 1 with Sentinel or Cluster, 0 on one server).",
        valueName: "n"))
    var durableReplicas: Int?

    @Option(help: ArgumentHelp("How long a security change waits for its replicas, ms (env HALLPASS_DURABLE_TIMEOUT_MS; default 1000).", valueName: "ms"))
    var durableTimeoutMs: Int?

    @Flag(help: "Print one JSON document instead of a table.")
    var json = false

    /// What security changes wait for on `topology`: each flag, else its environment variable,
    /// else the topology's default.
    func durability(for topology: RedisTopology) throws -> StoreDurability {
        func number(_ flag: Int?, _ name: String, _ variable: String, _ range: ClosedRange<Int>) throws -> Int? {
            if let flag {
                guard range.contains(flag) else { throw ValidationError("\(name) must be \(range.lowerBound)-\(range.upperBound)") }
                return flag
            }
            guard let text = Self.environment(variable) else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw ValidationError("\(variable)=\(text) is not a number \(range.lowerBound)-\(range.upperBound)")
            }
            return value
        }
        let replicas = try number(durableReplicas, "--durable-replicas", "HALLPASS_DURABLE_REPLICAS", 0...16)
        let timeout = try number(durableTimeoutMs, "--durable-timeout-ms", "HALLPASS_DURABLE_TIMEOUT_MS", 1...4000) ?? 1000
        return StoreDurability(replicas: replicas ?? StoreDurability.default(for: topology).replicas, timeout: .milliseconds(timeout))
    }

    /// The Redis URL and where it came from: the flag, else `HALLPASS_REDIS_URL`, else the default.
    var redisURL: (url: String, source: String) {
        if let redis { return (redis, "--redis") }
        if let value = getenv("HALLPASS_REDIS_URL"), value.pointee != 0 {
            return (String(cString: value), "HALLPASS_REDIS_URL")
        }
        return ("redis://127.0.0.1:6379/0", "the default Redis URL")
    }

    /// The TLS files: each flag, else its environment variable; `nil` when neither is set.
    var redisTLSFiles: (caFile: String?, certificateFile: String?, keyFile: String?) {
        (
            redisCaFile ?? Self.environment("HALLPASS_REDIS_CA_FILE"),
            redisCertFile ?? Self.environment("HALLPASS_REDIS_CERT_FILE"),
            redisKeyFile ?? Self.environment("HALLPASS_REDIS_KEY_FILE")
        )
    }

    /// The environment variable's value; `nil` when unset or empty.
    static func environment(_ variable: String) -> String? {
        guard let value = getenv(variable), value.pointee != 0 else { return nil }
        return String(cString: value)
    }

    /// Who the event log names as the cause of a change: `cli:` and the login name.
    static var actor: String {
        let variables: [String] = ["USER", "LOGNAME"]
        var name = variables.lazy.compactMap { getenv($0).map { String(cString: $0) } }.first { !$0.isEmpty }
        if name == nil, let entry = getpwuid(geteuid()), let login = entry.pointee.pw_name {
            name = String(cString: login)
        }
        let printable = (name ?? "").unicodeScalars.filter { $0.value > 0x20 && $0.value != 0x7F }
        let login = String(String.UnicodeScalarView(printable.prefix(64)))
        return "cli:" + (login.isEmpty ? "unknown" : login)
    }
}
