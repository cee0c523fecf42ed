import HallpassRedis
import Testing

@testable import HallpassStore

@Suite("Login throttling")
struct ThrottleTests {
    @Test func aUsernameGetsItsAllowanceThenAWaitNoLongerThanTheWindow() async throws {
        try await withStore { fixture async throws in
            let limits = LoginThrottle(perUsername: 3, perAddress: 100, window: 60)
            for _ in 0..<3 {
                #expect(try await fixture.store.reserveLoginAttempt(username: "alice", address: "192.0.2.1", limits: limits) == nil)
            }
            let wait = try #require(try await fixture.store.reserveLoginAttempt(username: "alice", address: "192.0.2.1", limits: limits))
            #expect(wait > 0 && wait <= 60_000)
            // Any case of the name, from any address, is the same username.
            #expect(try await fixture.store.reserveLoginAttempt(username: "ALICE", address: "198.51.100.1", limits: limits) != nil)
            // Another username from the same address is not locked.
            #expect(try await fixture.store.reserveLoginAttempt(username: "bob", address: "192.0.2.1", limits: limits) == nil)
        }
    }

    @Test func releasingAnAttemptResetsTheUsernameAndTakesOneOffTheAddress() async throws {
        try await withStore { fixture async throws in
            let limits = LoginThrottle(perUsername: 3, perAddress: 100, window: 60)
            let keys = fixture.store.throttleKeys(username: "alice", address: "192.0.2.1")
            for _ in 0..<2 {
                #expect(try await fixture.store.reserveLoginAttempt(username: "alice", address: "192.0.2.1", limits: limits) == nil)
            }
            #expect(try await fixture.raw("GET", keys[0]).int == 2)
            #expect(try await fixture.raw("GET", keys[1]).int == 2)

            // The password was right: the name's failures are forgiven.
            try await fixture.store.releaseLoginAttempt(username: "alice", address: "192.0.2.1")
            #expect(try await fixture.raw("EXISTS", keys[0]) == .integer(0))
            #expect(try await fixture.raw("GET", keys[1]).int == 1)
            for _ in 0..<3 {
                #expect(try await fixture.store.reserveLoginAttempt(username: "alice", address: "192.0.2.1", limits: limits) == nil)
            }
            #expect(try await fixture.store.reserveLoginAttempt(username: "alice", address: "192.0.2.1", limits: limits) != nil)

            // Releasing with nothing reserved never goes below zero.
            try await fixture.store.releaseLoginAttempt(username: "carol", address: "203.0.113.1")
            #expect(try await fixture.raw("EXISTS", fixture.store.throttleKeys(username: "carol", address: "203.0.113.1")[1]) == .integer(0))
        }
    }

    @Test func anAddressIsLimitedAcrossUsernames() async throws {
        try await withStore { fixture async throws in
            let limits = LoginThrottle(perUsername: 100, perAddress: 4, window: 60)
            for index in 0..<4 {
                #expect(try await fixture.store.reserveLoginAttempt(username: "user\(index)", address: "192.0.2.1", limits: limits) == nil)
            }
            let wait = try #require(try await fixture.store.reserveLoginAttempt(username: "fresh", address: "192.0.2.1", limits: limits))
            #expect(wait > 0 && wait <= 60_000)
            // The refused attempt did not count against the fresh username.
            #expect(try await fixture.store.reserveLoginAttempt(username: "fresh", address: "198.51.100.1", limits: limits) == nil)
            #expect(try await fixture.raw("GET", fixture.store.throttleKeys(username: "fresh", address: "x")[0]).int == 1)
        }
    }

    @Test func countersExpireWithTheirWindowAndNameNoRawInput() async throws {
        try await withStore { fixture async throws in
            let limits = LoginThrottle(perUsername: 5, perAddress: 50, window: 300)
            #expect(try await fixture.store.reserveLoginAttempt(username: "alice", address: "192.0.2.1", limits: limits) == nil)
            let keys = fixture.store.throttleKeys(username: "alice", address: "192.0.2.1")
            for key in keys {
                #expect(key.hasPrefix("hp:{hg}:th:"))
                #expect(!key.contains("alice") && !key.contains("192.0.2.1"))
                let ttl = try #require(try await fixture.raw("PTTL", key).int)
                #expect(ttl > 0 && ttl <= 300_000)
            }
            // Later attempts do not extend the window.
            let before = try #require(try await fixture.raw("PEXPIRETIME", keys[0]).int)
            #expect(try await fixture.store.reserveLoginAttempt(username: "alice", address: "192.0.2.1", limits: limits) == nil)
            #expect(try await fixture.raw("PEXPIRETIME", keys[0]).int == before)
            #expect(try await fixture.raw("KEYS", "*").array?.count == 2)
        }
    }

    @Test func fiftyConcurrentGuessesGetNoMoreThanTheAllowance() async throws {
        try await withStore { fixture async throws in
            let store = fixture.store
            let limits = LoginThrottle(perUsername: 5, perAddress: 1000, window: 60)
            let allowed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await store.reserveLoginAttempt(username: "alice", address: "192.0.2.1", limits: limits) == nil }
                }
                var allowed = 0
                for try await granted in group where granted { allowed += 1 }
                return allowed
            }
            #expect(allowed == 5)
        }
    }
}
