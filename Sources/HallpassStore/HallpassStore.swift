public import HallpassRedis
import HallpassCrypto

/// The one owner of Hallpass's Redis state, used by the hub, the ops CLI and the validator.
///
/// Every multi-key change is one Lua script from ``Scripts``; key names come from
/// ``StoreSchema``. Methods throw ``StoreError``; ``StoreError/unavailable(_:)`` means Redis
/// could not be reached and nothing is known to have changed.
public struct HallpassStore: Sendable {
    /// The Redis client all calls go through.
    public let redis: RedisClient
    /// How many entries each event stream keeps (approximately: trimming is lazy).
    public var eventsPerStream: Int
    /// The clock, in Unix milliseconds; tests move it.
    public var clock: @Sendable () -> Int64
    /// What security writes wait for before they are reported done (``StoreDurability``).
    public var durability: StoreDurability

    /// The longest access-token lifetime a hub may issue (s). Revocation records are kept this
    /// long plus ``clockSkewAllowance`` after the revocation, and then expire with the tokens
    /// they cover, so Redis memory stays bounded whatever hub or CLI wrote them.
    public static let maximumAccessTokenLifetime: Int64 = 3600
    /// The clock skew a validator may allow when checking `exp` (s).
    public static let clockSkewAllowance: Int64 = 60
    /// The longest a hub may cache a client registration (ms). Removing a client voids the
    /// tokens issued to it until this long after the removal, so that what a hub mints from
    /// its cached copy meanwhile is void too (see ``removeClient(id:actor:)``).
    public static let maximumClientCacheLifetime: Int64 = 1000

    /// A store over `redis`.
    public init(
        redis: RedisClient, eventsPerStream: Int = 10_000, durability: StoreDurability = .local,
        clock: @escaping @Sendable () -> Int64 = Self.wallClockMilliseconds
    ) {
        self.redis = redis
        self.eventsPerStream = eventsPerStream
        self.durability = durability
        self.clock = clock
    }

    /// Unix time in milliseconds.
    @Sendable public static func wallClockMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// When revocation records written now may be dropped (Unix ms).
    var revocationRecordsExpire: Int64 {
        clock() + (Self.maximumAccessTokenLifetime + Self.clockSkewAllowance) * 1000
    }

    // MARK: Plumbing

    /// Runs `script`; a `durable` one (a security write) then waits as ``durability`` says.
    func run(_ script: RedisScript, keys: [String], arguments: [any RedisArgument], durable: Bool = false) async throws(StoreError) -> RedisValue {
        do {
            return try await evaluate(script, keys: keys, arguments: arguments, durable: durable)
        } catch {
            throw StoreError(error)
        }
    }

    /// The one place scripts reach Redis. A durable write is followed by `WAIT` when
    /// ``durability`` asks for replicas, and fails with ``StoreError/notDurable(acknowledged:required:)``
    /// when fewer acknowledge in time: it is made on the master, but a failover now could undo it.
    private func evaluate(_ script: RedisScript, keys: [String], arguments: [any RedisArgument], durable: Bool) async throws -> RedisValue {
        guard durable, durability.replicas > 0 else {
            return try await redis.evalScript(script, keys: keys, arguments: arguments)
        }
        let reply = try await redis.evalScript(
            script, keys: keys, arguments: arguments, fenceKey: StoreSchema.durabilityFence(forKey: keys.first ?? StoreSchema.globalPrefix),
            waitingForReplicas: durability.replicas, timeout: durability.timeout)
        guard reply.replicas >= durability.replicas else {
            throw StoreError.notDurable(acknowledged: reply.replicas, required: durability.replicas)
        }
        return reply.value
    }

    /// Runs `script` with the keys `declare` reads: keys found by reading (the user of a
    /// session, the sessions of a user) must be declared like the rest, or a cluster could run
    /// the script on a node that no longer holds them. Should the script find, reading again
    /// atomically, a key that was not declared (it changed in between), it fails with
    /// `KEYSCHANGED` before writing anything; then this reads and runs it again. Each round
    /// some racing change commits, so n logins of one user at once need at most n rounds;
    /// after ``declaredKeysAttempts`` it gives up as unavailable.
    func run(
        _ script: RedisScript, declaring declare: () async throws(StoreError) -> [String], arguments: [any RedisArgument],
        durable: Bool = false
    ) async throws(StoreError) -> RedisValue {
        var attempt = 1
        while true {
            let keys = try await declare()
            do {
                return try await evaluate(script, keys: keys, arguments: arguments, durable: durable)
            } catch RedisError.server(let message) where message.hasPrefix("KEYSCHANGED") && attempt < Self.declaredKeysAttempts {
                attempt += 1
            } catch {
                throw StoreError(error)
            }
        }
    }

    /// How many times ``run(_:declaring:arguments:)`` reads and runs a script whose keys kept
    /// changing: enough for twenty logins of one user at the same moment.
    static let declaredKeysAttempts = 24

    /// Runs a script about session `sessionID` (``StoreSchema/sessionKeys(_:userID:prefix:)``,
    /// after `leading` keys), reading first whose session it is.
    func run(
        _ script: RedisScript, onSession sessionID: String, prefix: String, leading: [String] = [], trailing: [String] = [],
        arguments: [any RedisArgument], durable: Bool = false
    ) async throws(StoreError) -> RedisValue {
        let sessionKey = StoreSchema.session(sessionID, prefix: prefix)
        return try await run(
            script,
            declaring: { () async throws(StoreError) -> [String] in
                let owner = try await self.send(RedisCommand("HGET", sessionKey, "u")).string
                return leading + StoreSchema.sessionKeys(sessionID, userID: owner, prefix: prefix) + trailing
            }, arguments: arguments, durable: durable)
    }

    func send(_ command: RedisCommand) async throws(StoreError) -> RedisValue {
        do {
            return try await redis.send(command)
        } catch {
            throw StoreError(error)
        }
    }

    func pipeline(_ commands: [RedisCommand]) async throws(StoreError) -> [RedisValue] {
        let results: [Result<RedisValue, RedisError>]
        do {
            results = try await redis.pipeline(commands)
        } catch {
            throw StoreError(error)
        }
        return try Self.values(of: results)
    }

    /// A pipeline's replies, or the first command's error.
    static func values(of results: [Result<RedisValue, RedisError>]) throws(StoreError) -> [RedisValue] {
        var values: [RedisValue] = []
        values.reserveCapacity(results.count)
        for result in results {
            switch result {
            case .success(let value): values.append(value)
            case .failure(let error): throw StoreError(error)
            }
        }
        return values
    }

    /// Whether Redis answers, for readiness checks.
    public func ping() async throws(StoreError) {
        do {
            try await redis.ping()
        } catch {
            throw StoreError(error)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a Redis hash reply (`HGETALL`) into raw byte values.
func hashBytes(_ value: RedisValue) -> [String: [UInt8]] {
    guard let items = value.array else { return [:] }
    var fields: [String: [UInt8]] = [:]
    var index = 0
    while index + 1 < items.count {
        if let key = items[index].string {
            fields[key] = items[index + 1].bytes ?? []
        }
        index += 2
    }
    return fields
}

/// Reads a Redis hash reply into strings (values that are not UTF-8 are repaired, never
/// dropped: Hallpass only writes UTF-8 there).
func hashFields(_ value: RedisValue) -> [String: String] {
    hashBytes(value).mapValues { String(decoding: $0, as: UTF8.self) }
}
