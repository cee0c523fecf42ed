public import HallpassRedis

/// Why a store operation failed.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Redis could not be reached or did not answer in time; the operation may be retried.
    /// A hub answers 503.
    case unavailable(RedisError)
    /// Redis answered with an error (a wrong key type, a script error).
    case failed(RedisError)
    /// A stored record does not have the shape Hallpass writes.
    case corruptRecord(String)
    /// The thing to create exists already.
    case conflict(String)
    /// The thing to change does not exist.
    case notFound(String)
    /// An argument was refused before anything was written.
    case invalidArgument(String)
    /// A security write was made on the master, but fewer replicas than
    /// ``StoreDurability/replicas`` acknowledged it in time, so a failover could still undo
    /// it. It must not be reported done: a hub answers 503, the CLI exits 1 saying so. Such
    /// writes are safe to retry.
    case notDurable(acknowledged: Int, required: Int)

    init(_ error: any Error) {
        switch error {
        case let error as StoreError:
            self = error
        case let error as RedisError:
            switch error {
            case .server(let message) where Self.isTransient(serverError: message):
                self = .unavailable(error)
            case .server, .unexpectedReply, .crossSlot: self = .failed(error)
            case .invalidURL, .connectionFailed, .connectTimedOut, .authenticationFailed, .commandTimedOut,
                .connectionClosed, .unavailable, .protocolError, .unsupported, .invalidTLSSetting, .tlsHandshakeFailed, .sentinel,
                .tooManyRedirects, .cluster, .overloaded:
                self = .unavailable(error)
            }
        default:
            self = .failed(.unexpectedReply("\(error)"))
        }
    }

    /// Error replies with which Redis refuses a command it did not run, because of its own
    /// state rather than the command: loading the dataset after a restart (`LOADING`), a long
    /// script holding it (`BUSY`), a failover or cluster resharding under way (`MASTERDOWN`,
    /// `READONLY`, `TRYAGAIN`, `CLUSTERDOWN`), or a master refusing writes because too few
    /// replicas are connected (`NOREPLICAS`, `min-replicas-to-write`). Nothing changed, and the same command will work
    /// once the condition passes, so these are `unavailable` (a hub answers 503), not `failed`.
    /// So is Hallpass's own `KEYSCHANGED`: a script that found, every time it was tried, keys
    /// it had not been given (see `HallpassStore.run(_:declaring:arguments:)`).
    static func isTransient(serverError message: String) -> Bool {
        let code = message.prefix { $0 != " " }
        return ["LOADING", "BUSY", "MASTERDOWN", "READONLY", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "KEYSCHANGED"].contains(code)
    }

    /// Whether the same call may succeed when repeated: Redis was unreachable or busy, or a
    /// security write was not confirmed durable (a hub answers 503 to both).
    public var isTemporary: Bool {
        switch self {
        case .unavailable, .notDurable: true
        case .failed, .corruptRecord, .conflict, .notFound, .invalidArgument: false
        }
    }

    /// A sentence for logs and the ops CLI.
    public var description: String {
        switch self {
        case .unavailable(let error): "the store is unavailable: \(error)"
        case .failed(let error): "the store refused the operation: \(error)"
        case .corruptRecord(let detail): "a stored record is malformed: \(detail)"
        case .conflict(let detail): detail
        case .notFound(let detail): detail
        case .invalidArgument(let detail): detail
        case .notDurable(let acknowledged, let required):
            "the change was made but may not be durable: \(acknowledged) of \(required) required Redis replica(s) "
                + "acknowledged it in time; retry it"
        }
    }
}
