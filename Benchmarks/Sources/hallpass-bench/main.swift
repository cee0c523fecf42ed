// hallpass-bench: throughput figures for the issue reports. Not a test: it prints numbers.
//
//   hallpass-bench crypto                      JWS sign/verify per algorithm beside raw OpenSSL (C)
//   hallpass-bench redis --redis URL           GET round trips from concurrent tasks on one connection
//   hallpass-bench validator --redis URL       the Hallpass validator: cold and hot beside OpenSSL and jwt-kit,
//                                              revocation propagation p50/p99 over 1,000 revocations
//   hallpass-bench all --redis URL             crypto, redis and validator
//   hallpass-bench argon2 [--threads N]        Argon2id verifications/s (the password-login ceiling)
//   hallpass-bench seed-hub --redis URL        a user and a client for ops/bench hub
//   hallpass-bench seed-sessions --redis URL [--count N] [--users U] [--scope S]
//                                              N sessions over U users, made in the store; their refresh tokens
//   hallpass-bench framework-floor --port P    a bare Hummingbird app with GET /healthz, for ops/bench hub
import HallpassCrypto
import HallpassJOSE
import HallpassRedis
import OpenSSLBaseline

#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

func nowNanoseconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) * 1e9 + Double(spec.tv_nsec)
}

/// Nanoseconds per call of `body`, best of `rounds` runs of `iterations` calls.
func measure(iterations: Int, rounds: Int = 5, _ body: () -> Void) -> Double {
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = nowNanoseconds()
        for _ in 0..<iterations { body() }
        best = min(best, (nowNanoseconds() - start) / Double(iterations))
    }
    return best
}

func perSecond(_ nanoseconds: Double) -> String {
    let value = 1e9 / nanoseconds
    return String(Int(value.rounded()))
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func runCrypto() throws {
    print("JWS compact, full path (Hallpass) vs raw OpenSSL EVP from C, same key and bytes; best of 5 rounds")
    print(pad("alg", 7) + pad("sign/s full", 13) + pad("sign/s raw", 12) + pad("verify/s full", 15)
        + pad("verify/s raw", 14) + pad("verify full/raw", 16) + "full verify µs")
    for type in [KeyType.p256, .ed25519, .rsa] {
        let key = try PrivateKey.generate(type)
        let signer = try JWTSigner(privateKey: key)
        let now = wallClockSeconds()
        let claims: [String: JSONValue] = [
            "iss": "http://127.0.0.1:8400", "sub": "usr_3f9a1c2b7d", "aud": "notes",
            "exp": .integer(Int64(now) + 300), "iat": .integer(Int64(now)),
            "jti": "a4d1b2c3e4f5a6b7c8d9e0f1a2b3c4d5", "client_id": "notes", "scope": "openid profile",
            "sid": "sid_7e1f2a3b4c5d6e7f", "auth_time": .integer(Int64(now)),
        ]
        let token = try signer.sign(claims: claims)
        let validator = JWTValidator(
            configuration: .init(issuer: "http://127.0.0.1:8400", audience: "notes"),
            keys: VerificationKeys([.init(keyID: signer.keyID, publicKey: key.publicKey)])
        )
        // Sanity: the token must validate, or the figures would measure a failure path.
        _ = try validator.validate(token)

        let parts = token.split(separator: ".")
        let signingInput = Array((parts[0] + "." + parts[1]).utf8)
        let signature = try Base64URL.decode(parts[2])
        let publicPEM = key.publicKey.pemRepresentation
        let privatePEM = key.pemRepresentation
        let signIterations = type == .rsa ? 300 : 3000
        let verifyIterations = type == .rsa ? 6000 : 3000

        let rawSign = privatePEM.withCString { pem in
            signingInput.withUnsafeBufferPointer { message in
                (0..<5).map { _ in
                    hallpass_baseline_sign_ns(pem, message.baseAddress, message.count, signIterations)
                }.min() ?? -1
            }
        }
        let fullSign = measure(iterations: signIterations) { _ = try? signer.sign(claims: claims) }
        let rawVerify = publicPEM.withCString { pem in
            signingInput.withUnsafeBufferPointer { message in
                signature.withUnsafeBufferPointer { signature in
                    (0..<5).map { _ in
                        hallpass_baseline_verify_ns(
                            pem, message.baseAddress, message.count, signature.baseAddress, signature.count,
                            type == .p256 ? 1 : 0, 0, verifyIterations
                        )
                    }.min() ?? -1
                }
            }
        }
        var failures = 0
        let fullVerify = measure(iterations: verifyIterations) {
            if (try? validator.validate(token, now: now)) == nil { failures += 1 }
        }
        guard rawSign > 0, rawVerify > 0, failures == 0 else {
            print("\(signer.algorithm.rawValue): baseline or validation failed (\(failures) failures)")
            continue
        }
        let ratio = rawVerify / fullVerify
        print(pad(signer.algorithm.rawValue, 7) + pad(perSecond(fullSign), 13) + pad(perSecond(rawSign), 12)
            + pad(perSecond(fullVerify), 15) + pad(perSecond(rawVerify), 14)
            + pad(String(format2(ratio)) + "x", 16) + format2(fullVerify / 1000))
    }
}

func format2(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    return "\(scaled)"
}

func runRedis() async throws {
    guard let url = option("--redis") ?? getenv("HALLPASS_REDIS_URL").map({ String(cString: $0) }) else {
        print("redis: pass --redis URL (ops/bench starts a throwaway server)")
        return
    }
    let tasks = Int(option("--tasks") ?? "64") ?? 64
    let seconds = Double(option("--seconds") ?? "5") ?? 5
    let client = RedisClient(configuration: try RedisConfiguration(url: url))
    _ = try await client.send(RedisCommand("SET", "hallpass:bench:key", "value-of-sixteen"))
    // Warm up the connection and the code paths.
    for _ in 0..<1000 { _ = try await client.send(RedisCommand("GET", "hallpass:bench:key")) }
    let deadline = nowNanoseconds() + seconds * 1e9
    let start = nowNanoseconds()
    let total = try await withThrowingTaskGroup(of: Int.self) { group in
        for _ in 0..<tasks {
            group.addTask {
                var count = 0
                while nowNanoseconds() < deadline {
                    for _ in 0..<100 {
                        _ = try await client.send(RedisCommand("GET", "hallpass:bench:key"))
                    }
                    count += 100
                }
                return count
            }
        }
        return try await group.reduce(0, +)
    }
    let elapsed = (nowNanoseconds() - start) / 1e9
    print("Redis GET, \(tasks) concurrent tasks, one connection: \(Int(Double(total) / elapsed)) ops/s "
        + "(\(total) GETs in \(format2(elapsed)) s)")
    await client.shutdown()
}

switch arguments.first {
case "crypto":
    try runCrypto()
case "redis":
    try await runRedis()
case "validator-cold":
    try await runValidator(redisURL: option("--redis") ?? "redis://127.0.0.1:6379/0", coldOnly: true)
case "validator-hot":
    try await runValidator(redisURL: option("--redis") ?? "redis://127.0.0.1:6379/0", hotOnly: true)
case "validator":
    try await runValidator(redisURL: option("--redis") ?? "redis://127.0.0.1:6379/0")
case "seed-hub":
    try await seedHub(redisURL: option("--redis") ?? "redis://127.0.0.1:6379/0")
case "seed-sessions":
    try await seedSessions(
        redisURL: option("--redis") ?? "redis://127.0.0.1:6379/0", users: Int(option("--users") ?? "") ?? 256,
        clientID: option("--client") ?? "bench-api", scope: option("--scope") ?? "profile",
        count: Int(option("--count") ?? "") ?? 10000)
case "framework-floor":
    try await serveFrameworkFloor(port: Int(option("--port") ?? "") ?? 8080)
case "argon2":
    try runArgon2(threads: Int(option("--threads") ?? "2") ?? 2, seconds: Double(option("--seconds") ?? "10") ?? 10)
case "all", nil:
    try runCrypto()
    print("")
    try await runRedis()
    print("")
    try await runValidator(redisURL: option("--redis") ?? "redis://127.0.0.1:6379/0")
default:
    print("usage: hallpass-bench [crypto | redis --redis URL [--tasks N] [--seconds S] | all --redis URL"
        + " | validator --redis URL [--revocations N] | argon2 [--threads N] | seed-hub --redis URL"
        + " | seed-sessions --redis URL [--users U] [--client C] [--scope S] [--count N]"
        + " | framework-floor --port P]")
    exit(2)
}

