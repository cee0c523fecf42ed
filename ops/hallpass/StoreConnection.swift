import ArgumentParser
import HallpassRedis
import HallpassStore
import Logging

/// The store a command works on: a ``HallpassRedis/RedisClient`` for `--redis` and the
/// ``HallpassStore/HallpassStore`` over it, shut down when the command is done.
///
/// Every command that touches Redis goes through ``run(_:_:)``, which also turns store errors
/// into the one-line reasons the CLI prints.
struct StoreConnection {
    let store: HallpassStore
    let configuration: RedisConfiguration

    /// Connects lazily (on the first command) to the Redis `options` name, runs `body`, and
    /// shuts the client down on every path.
    ///
    /// - Throws: `ValidationError` (exit 2) for a malformed URL; ``CLIFailure`` (exit 1) when
    ///   Redis cannot be reached or refuses; whatever `body` throws otherwise.
    static func run<Value>(
        _ options: GlobalOptions, _ body: (StoreConnection) async throws -> Value
    ) async throws -> Value {
        var configuration: RedisConfiguration
        let (url, source) = options.redisURL
        let files = options.redisTLSFiles
        do throws(RedisError) {
            configuration = try RedisConfiguration(
                url: url, caFile: files.caFile, certificateFile: files.certificateFile, keyFile: files.keyFile,
                sentinelPassword: GlobalOptions.environment("HALLPASS_REDIS_SENTINEL_PASSWORD"))
        } catch .invalidTLSSetting(let setting, let detail) {
            throw ValidationError("\(setting.optionName): \(detail)")
        } catch {
            throw ValidationError("\(source): \(error)")
        }
        // An admin may reach Redis over a slow link; the hub's 2 s suits a server, not a person.
        configuration.connectTimeout = .seconds(5)
        // Connection-state logs would break the one-line-on-stderr rule; failures reach the
        // user through the errors instead.
        let redis = RedisClient(
            configuration: configuration,
            logger: Logger(label: "hallpass.cli.redis", factory: { _ in SwiftLogNoOpLogHandler() }))
        let durability: StoreDurability
        do {
            durability = try options.durability(for: configuration.topology)
        } catch {
            await redis.shutdown()
            throw error
        }
        let connection = StoreConnection(store: HallpassStore(redis: redis, durability: durability), configuration: configuration)
        do {
            let result = try await body(connection)
            await redis.shutdown()
            return result
        } catch let error as StoreError {
            await redis.shutdown()
            throw connection.failure(error)
        } catch {
            await redis.shutdown()
            throw error
        }
    }

    /// How long a change to a global record waits for the hubs to apply it.
    static let hubConfirmationTimeout: Duration = .seconds(2)

    /// After a change to a global record (a client, a signing key, a global policy): waits
    /// until every running hub has applied it (``HallpassStore/awaitHubs(applying:within:)``),
    /// so that the next request at any hub sees it, as the contract promises. A hub that has
    /// not confirmed in time is named in a warning on stderr; the change itself is made and
    /// stays, and that hub applies it as soon as its event feed catches up.
    func confirmAtHubs() async throws {
        let latest = try await store.latestGlobalEvent()
        let behind = try await store.awaitHubs(applying: latest, within: Self.hubConfirmationTimeout)
        guard !behind.isEmpty else { return }
        Console.note(
            "warning: \(behind.count) running hub(s) did not confirm the change within \(Self.hubConfirmationTimeout) "
                + "(\(behind.map(\.hubID).joined(separator: ", "))); each applies it when its event feed catches up")
    }

    /// The user called `username`; refused (exit 1) when there is none.
    func existingUser(_ username: String) async throws -> UserRecord {
        guard let user = try await store.user(named: username) else { throw CLIFailure("no user \(username)") }
        return user
    }

    /// The reason to print for a store error.
    func failure(_ error: StoreError) -> CLIFailure {
        switch error {
        case .unavailable(let cause):
            // NIO's connect errors are long; the common one deserves a short sentence.
            if case .tlsHandshakeFailed = cause {
                // Already one sentence with the address and the reason.
                CLIFailure("\(cause)")
            } else if case .connectionFailed(let detail) = cause, detail.contains("Connection refused") {
                CLIFailure("cannot reach Redis at \(configuration.redactedURL): connection refused")
            } else {
                CLIFailure("cannot reach Redis at \(configuration.redactedURL): \(cause)")
            }
        case .failed(let cause):
            CLIFailure("Redis at \(configuration.redactedURL) refused the operation: \(cause)")
        case .corruptRecord, .conflict, .notFound, .invalidArgument, .notDurable:
            CLIFailure(error.description)
        }
    }
}
