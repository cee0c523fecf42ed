// Support for the hub load benchmark (ops/bench hub): seeding a user and a client straight
// into the store, and the Argon2id rate that password logins are compared with.
import Dispatch
import HallpassPasswords
import HallpassRedis
import HallpassStore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Creates the benchmark user and a confidential client; prints shell assignments.
func seedHub(redisURL: String) async throws {
    let client = RedisClient(configuration: try RedisConfiguration(url: redisURL))
    let store = HallpassStore(redis: client)
    let password = "bench-password-1"
    let phc = try PasswordHasher(parameters: .owasp).hash(password)
    let user = try await store.createUser(username: "bench", passwordHash: phc, actor: "bench")
    try await store.setSingleLoginPolicy(.off, forUser: user.id, actor: "bench")
    let created = try await store.createClient(id: "bench-api", confidential: true, grantTypes: ["password", "refresh_token"], actor: "bench")
    print("BENCH_USER=bench")
    print("BENCH_PASSWORD=\(password)")
    print("BENCH_CLIENT=bench-api")
    print("BENCH_SECRET=\(created.secret ?? "")")
    await client.shutdown()
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
