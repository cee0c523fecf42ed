import HallpassRedis
import HallpassTestSupport
import Logging
import Synchronization
import Testing

@testable import HallpassStore

/// A clock the test moves by hand. It starts at the wall clock, because the store also hands
/// its times to Redis as absolute expiries (`PEXPIREAT`), and stands still until advanced, so
/// grace windows and revocation-record scores are exact rather than racing real time.
final class TestClock: Sendable {
    private let now: Mutex<Int64>

    init(startingAt start: Int64 = HallpassStore.wallClockMilliseconds()) {
        now = Mutex(start)
    }

    /// The current time (Unix ms).
    var milliseconds: Int64 { now.withLock { $0 } }

    /// The current time (Unix s), as the store writes seconds.
    var seconds: Int64 { milliseconds / 1000 }

    func advance(milliseconds: Int64) { now.withLock { $0 += milliseconds } }

    func advance(seconds: Int64) { advance(milliseconds: seconds * 1000) }

    /// Moves the clock up to the wall clock, for a test whose expiries Redis must apply by
    /// its own clock: on a loaded machine the setup alone can leave the hand clock a second
    /// or more behind, and a short expiry written from it would already be past.
    func catchUpToWallClock() {
        let wall = HallpassStore.wallClockMilliseconds()
        now.withLock { $0 = max($0, wall) }
    }

    /// The closure the store calls.
    var read: @Sendable () -> Int64 { { self.milliseconds } }
}

/// A private Redis (of the test's topology), a client of it and a store over that client with
/// a ``TestClock``.
struct StoreFixture: Sendable {
    /// A server to talk to directly; on a cluster only one of its masters (see ``TopologyFixture/server``).
    let server: RedisTestServer
    /// Every server holding the store's data (see ``TopologyFixture/masters``).
    let masters: [RedisTestServer]
    let redis: RedisClient
    let clock: TestClock
    let store: HallpassStore

    /// The keys matching `pattern` on every master: on a cluster, `KEYS` through the client
    /// reaches one master only (unless the pattern names a hash tag).
    func keys(matching pattern: String) async throws -> [String] {
        var keys: [String] = []
        for master in masters {
            let client = try testRedisClient(url: master.url)
            do {
                keys += try await client.send(RedisCommand("KEYS", pattern)).array?.compactMap(\.string) ?? []
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
        return keys
    }

    /// Sends a raw command, for looking at what the store wrote.
    func raw(_ name: String, _ arguments: any RedisArgument...) async throws -> RedisValue {
        try await redis.send(RedisCommand(name, arguments: arguments))
    }

    /// The key prefix of `identifier`'s shard, spelled out as the schema documents it.
    func prefix(of identifier: String) throws -> String {
        let shard = try #require(StoreSchema.shard(of: identifier))
        return "hp:{h\(String(shard, radix: 16))}:"
    }

    /// The score of `member` in the sorted set `key`, if it is there.
    func score(_ key: String, _ member: String) async throws -> Int64? {
        try await raw("ZSCORE", key, member).int
    }

    /// Every event in every stream, oldest first.
    func allEvents() async throws -> [StoreEvent] {
        try await store.recentEvents(count: 100_000)
    }

    /// The events appended while `body` ran.
    func eventsAppended<Result>(by body: () async throws -> Result) async throws -> (Result, [StoreEvent]) {
        let before = Set(try await allEvents().map { $0.stream + " " + $0.id })
        let result = try await body()
        let after = try await allEvents()
        return (result, after.filter { !before.contains($0.stream + " " + $0.id) })
    }
}

/// A client configuration for `url`, with a connect timeout meant for a loaded 2-core machine
/// (see the Redis tests' `testConfiguration`).
func testConfiguration(url: String) throws -> RedisConfiguration {
    var configuration = try RedisConfiguration(url: url)
    configuration.connectTimeout = .seconds(15)
    configuration.commandTimeout = .seconds(30)
    return configuration
}

/// Runs `body` against a store over a private `redis-server` (started with `serverArguments`)
/// and stops the server afterwards; with a `topology`, over a fresh deployment of it instead
/// (`serverArguments` are then not allowed: they configure the single server).
func withStore<Result: Sendable>(
    eventsPerStream: Int = 10_000,
    serverArguments: [String] = [],
    topology: RedisTopologyUnderTest? = nil,
    _ body: (StoreFixture) async throws -> Result
) async throws -> Result {
    if let topology {
        precondition(serverArguments.isEmpty, "server arguments configure the single server only")
        return try await withRedisTopology(topology) { deployment in
            try await withStore(
                url: deployment.url, server: deployment.server, masters: deployment.masters, eventsPerStream: eventsPerStream, body)
        }
    }
    let server = try await RedisTestServer.start(arguments: serverArguments)
    do {
        let result = try await withStore(
            url: server.url, server: server, masters: [server], eventsPerStream: eventsPerStream, body)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// Runs `body` against a store over a client of `url`; `server` is the fixture's direct server.
private func withStore<Result: Sendable>(
    url: String, server: RedisTestServer, masters: [RedisTestServer], eventsPerStream: Int, _ body: (StoreFixture) async throws -> Result
) async throws -> Result {
    let redis = RedisClient(configuration: try testConfiguration(url: url), logger: quietLogger)
    let clock = TestClock()
    let store = HallpassStore(redis: redis, eventsPerStream: eventsPerStream, clock: clock.read)
    let fixture = StoreFixture(server: server, masters: masters, redis: redis, clock: clock, store: store)
    do {
        let result = try await body(fixture)
        await redis.shutdown()
        return result
    } catch {
        await redis.shutdown()
        throw error
    }
}

/// A PHC string of the right shape; the store never checks it.
let somePasswordHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$c29tZWhhc2hzb21laGFzaHNvbWVoYXNoc29tZWhhc2g"

extension HallpassStore {
    /// A user with a placeholder password hash.
    func makeUser(_ username: String) async throws(StoreError) -> UserRecord {
        try await createUser(username: username, passwordHash: somePasswordHash, actor: "test")
    }

    /// A login of `userID` for `client` under `policy`, from 192.0.2.1.
    func login(
        _ userID: String, client: String = "notes", scope: String = "openid", policy: SingleLoginPolicy = .off,
        timeouts: SessionTimeouts = SessionTimeouts()
    ) async throws(StoreError) -> LoginOutcome {
        try await startSession(
            userID: userID, clientID: client, scope: scope, timeouts: timeouts, defaultPolicy: policy, actor: "192.0.2.1",
            remoteAddress: "192.0.2.1")
    }
}

/// The test failed because an outcome had another shape than expected.
struct UnexpectedOutcome: Error, CustomStringConvertible {
    let description: String
}

extension LoginOutcome {
    /// The started session, or a thrown ``UnexpectedOutcome``.
    func started(sourceLocation: SourceLocation = #_sourceLocation) throws -> StartedSession {
        guard case .started(let session) = self else {
            Issue.record("expected a started session, got \(self)", sourceLocation: sourceLocation)
            throw UnexpectedOutcome(description: "\(self)")
        }
        return session
    }
}

extension RefreshOutcome {
    /// The successor of a rotation, or a thrown ``UnexpectedOutcome``.
    func rotated(sourceLocation: SourceLocation = #_sourceLocation) throws -> RefreshGrant {
        guard case .rotated(let grant) = self else {
            Issue.record("expected a rotation, got \(self)", sourceLocation: sourceLocation)
            throw UnexpectedOutcome(description: "\(self)")
        }
        return grant
    }

    /// The successor handed out again, or a thrown ``UnexpectedOutcome``.
    func replayed(sourceLocation: SourceLocation = #_sourceLocation) throws -> RefreshGrant {
        guard case .replayed(let grant) = self else {
            Issue.record("expected a replay, got \(self)", sourceLocation: sourceLocation)
            throw UnexpectedOutcome(description: "\(self)")
        }
        return grant
    }
}

extension StoreError {
    /// The case's name, so a test can say which failure it expects without its message.
    var kind: String {
        switch self {
        case .unavailable: "unavailable"
        case .failed: "failed"
        case .corruptRecord: "corruptRecord"
        case .conflict: "conflict"
        case .notFound: "notFound"
        case .invalidArgument: "invalidArgument"
        case .notDurable: "notDurable"
        }
    }
}

/// The ``StoreError`` `body` throws, or `nil` if it succeeds. Any other error is a failure.
///
/// `body` is untyped because Swift 6.0 infers `throws(any Error)` for a closure that is not
/// annotated, even where a typed-throws parameter would fit.
func storeError<T>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T) async -> StoreError? {
    do {
        _ = try await body()
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Users until two share a shard: revocation-record trimming is per shard, so proving it
/// needs two owners of the same sets.
func twoUsersInOneShard(_ store: HallpassStore) async throws -> (UserRecord, UserRecord) {
    var byShard: [Int: UserRecord] = [:]
    for index in 0...StoreSchema.shardCount {
        let user = try await store.makeUser("shardmate\(index)")
        let shard = try #require(StoreSchema.shard(of: user.id))
        if let earlier = byShard[shard] { return (earlier, user) }
        byShard[shard] = user
    }
    // 17 users in 16 shards: two always share one.
    throw UnexpectedOutcome(description: "no two users shared a shard")
}

