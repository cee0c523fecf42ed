// Support for the hub load benchmark (ops/bench hub): seeding a user and a client straight
// into the store, and the Argon2id rate that password logins are compared with.
import Dispatch
import HallpassPasswords
import HallpassRedis
import HallpassStore
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Creates the benchmark user and a confidential client; prints shell assignments.
func seedHub(redisURL: String) async throws {
    let client = RedisClient(configuration: try RedisConfiguration(url: redisURL), logger: quietLogger)
    let store = HallpassStore(redis: client)
    let password = "bench-password-1"
    let phc = try PasswordHasher(parameters: .owasp).hash(password)
    let user = try await store.createUser(username: "bench", passwordHash: phc, actor: "bench")
    try await store.setSingleLoginPolicy(.off, forUser: user.id, actor: "bench")
    // The hub verifies a hash with the parameters stored in it, so this user's logins cost the
    // hub almost no hashing: the login-cheap scenario runs at thousands per second, and what
    // Redis spends per login is no longer lost among 80 logins a second beside two cores of
    // Argon2id. Not a setting for real users.
    let cheap = try PasswordHasher(parameters: Argon2Parameters(memoryKiB: 1024, iterations: 1, parallelism: 1)).hash(password)
    let cheapUser = try await store.createUser(username: "bench-cheap", passwordHash: cheap, actor: "bench")
    try await store.setSingleLoginPolicy(.off, forUser: cheapUser.id, actor: "bench")
    let created = try await store.createClient(id: "bench-api", confidential: true, grantTypes: ["password", "refresh_token"], actor: "bench")
    print("BENCH_USER=bench")
    print("BENCH_CHEAP_USER=bench-cheap")
    print("BENCH_PASSWORD=\(password)")
    print("BENCH_CLIENT=bench-api")
    print("BENCH_SECRET=\(created.secret ?? "")")
    await client.shutdown()
}

/// Starts `count` sessions for `clientID` straight in the store (no password hashing), spread
/// round-robin over `users` users (`bench-1`…, made if missing, sharing one password hash), and
/// prints their refresh tokens, one per line. Many users spread the sessions over the 16 user
/// shards, as real traffic is, so a cluster's masters share the load. It fills a pool of
/// first-use tokens big enough for a refresh or revocation load, which logins through the hub,
/// at the Argon2id rate, could not do in reasonable time.
func seedSessions(redisURL: String, users: Int, clientID: String, scope: String, count: Int) async throws {
    let client = RedisClient(configuration: try RedisConfiguration(url: redisURL), logger: quietLogger)
    let store = HallpassStore(redis: client)
    let phc = try PasswordHasher(parameters: .owasp).hash("bench-password-1")
    var userIDs: [String] = []
    for index in 1...max(users, 1) {
        let name = "bench-\(index)"
        if let existing = try await store.userID(forUsername: name) {
            userIDs.append(existing)
        } else {
            let user = try await store.createUser(username: name, passwordHash: phc, actor: "bench")
            try await store.setSingleLoginPolicy(.off, forUser: user.id, actor: "bench")
            userIDs.append(user.id)
        }
    }
    let owners = userIDs
    let tokens = try await withThrowingTaskGroup(of: [String].self) { group in
        let tasks = 16
        for task in 0..<tasks {
            group.addTask {
                var made: [String] = []
                for index in stride(from: task, to: count, by: tasks) {
                    let outcome = try await store.startSession(
                        userID: owners[index % owners.count], clientID: clientID, scope: scope, timeouts: SessionTimeouts(),
                        defaultPolicy: .off, actor: "bench", remoteAddress: "127.0.0.1")
                    guard case .started(let started) = outcome else { throw BenchError.refused("\(outcome)") }
                    made.append(started.refreshToken.encoded)
                }
                return made
            }
        }
        var all: [String] = []
        for try await made in group { all += made }
        return all
    }
    print(tokens.joined(separator: "\n"))
    await client.shutdown()
}

/// Warnings only: the seeding helpers' output is parsed by the bench scripts, and the
/// client's connection notices would only clutter the report.
let quietLogger: Logger = {
    var logger = Logger(label: "hallpass-bench.redis")
    logger.logLevel = .warning
    return logger
}()

/// Why a benchmark helper could not go on.
enum BenchError: Error, CustomStringConvertible {
    /// The store refused to start a session.
    case refused(String)
    var description: String {
        switch self {
        case .refused(let outcome): "the store refused a session: \(outcome)"
        }
    }
}

/// Argon2id (OWASP parameters) verifications per second on `threads` threads: the ceiling
/// for password logins on this machine.
func runArgon2(threads: Int, seconds: Double) throws {
    let hasher = PasswordHasher(parameters: .owasp)
    let phc = try hasher.hash("bench-password-1")
    let deadline = nowNanoseconds() + seconds * 1e9
    let start = nowNanoseconds()
    let counted = Mutex(0)
    DispatchQueue.concurrentPerform(iterations: threads) { _ in
        var count = 0
        while nowNanoseconds() < deadline {
            _ = try? hasher.verify("bench-password-1", against: phc)
            count += 1
        }
        counted.withLock { $0 += count }
    }
    let elapsed = (nowNanoseconds() - start) / 1e9
    let total = counted.withLock { $0 }
    print("Argon2id \(hasher.parameters), \(threads) threads: \(format2(Double(total) / elapsed)) verifications/s")
}
