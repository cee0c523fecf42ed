import HallpassRedis
import HallpassTestSupport
import Testing

/// `evalScript(_:keys:arguments:fenceKey:waitingForReplicas:timeout:)`: a script, a fence and
/// `WAIT`, on a master with one real replica.
@Suite("Scripts followed by WAIT", .serialized)
struct ReplicatedWriteTests {
    /// A master and its replica: the topology suites' Sentinel deployment (its Sentinel idle).
    func withReplicatedServer(_ body: (RedisTestServer, RedisTestServer) async throws -> Void) async throws {
        try await withRedisTopology(.sentinel) { deployment in
            try await body(deployment.server, try #require(deployment.replica))
        }
    }

    @Test("the replica acknowledges a script's write; stopped, it acknowledges none, even of a script that writes nothing (the fence), and the shared connection is not held up meanwhile")
    func waitCountsReplicasAndHoldsUpOnlyItsOwnConnection() async throws {
        try await withReplicatedServer { master, replica in
            // The WAIT below may block 10 s, which must be shorter than the command timeout.
            var configuration = try testConfiguration(url: master.url)
            configuration.commandTimeout = .seconds(30)
            let client = RedisClient(configuration: configuration, logger: quietLogger)
            let write = RedisScript("return redis.call('INCR', KEYS[1])")
            let read = RedisScript("return redis.call('GET', KEYS[1])")
            let written = try await client.evalScript(
                write, keys: ["{t}:n"], arguments: [], fenceKey: "{t}:df", waitingForReplicas: 1, timeout: .seconds(2))
            #expect(written == RedisReplicatedReply(value: .integer(1), replicas: 1))

            replica.pause()
            // A script that changes nothing, as a retried revocation finds its work done, must
            // still wait for the replica to have what it read. (Redis 7.0.15 waits for the
            // master's offset here even without the fence, checked by hand; the fence makes that
            // not depend on how a server version counts a connection's last write.)
            // The shared connection, open before the WAIT (so the check below does not time a connect).
            #expect(try await client.send(RedisCommand("PING")) == .simpleString("PONG"))
            let pending = Task {
                try await client.evalScript(read, keys: ["{t}:n"], arguments: [], fenceKey: "{t}:df", waitingForReplicas: 1, timeout: .seconds(10))
            }
            try await Task.sleep(for: .milliseconds(500))
            // WAIT blocks its own connection only: the shared one answers long before the WAIT's
            // 10 s are up (behind it, this would take them all; the margin is for a loaded machine).
            let started = ContinuousClock.now
            #expect(try await client.send(RedisCommand("GET", "{t}:n")) == .bulkString(Array("1".utf8)))
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .seconds(5), "\(elapsed)")
            let unconfirmed = try await pending.value
            #expect(unconfirmed == RedisReplicatedReply(value: .bulkString(Array("1".utf8)), replicas: 0))
            replica.resume()
            await client.shutdown()
        }
    }
}
