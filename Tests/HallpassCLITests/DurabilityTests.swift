import Foundation
import Hallpass
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

/// CONTRACT section 5, "Durability": a revocation, forced logout or session end that the CLI or
/// the hub acknowledged is never undone by the crash of one Redis process or by a failover;
/// one the store could not confirm is reported (CLI exit 1, hub 503) and is safe to retry.
/// Real `redis-server`, `redis-sentinel`, `hallpass-hub` and `hallpass` processes.
@Suite("Durable security writes: what was acknowledged survives a crash or a failover", .serialized)
struct DurabilityTests {
    /// A fresh validator on `url`, current, for `body`: what a newly started member app sees,
    /// so only what Redis kept counts, not what a running validator remembered.
    static func withFreshValidator(issuer: String, url: String, _ body: (HallpassValidator) async throws -> Void) async throws {
        var configuration = HallpassValidator.Configuration(issuer: issuer, audience: "api", redisURL: url)
        configuration.stalenessBound = .seconds(30)
        configuration.connectTimeout = .seconds(10)
        let validator = try HallpassValidator(configuration: configuration, logger: quietLogger)
        let running = Task { try await validator.run() }
        defer { running.cancel() }
        try #require(await validator.waitUntilCurrent(timeout: .seconds(30)))
        try await body(validator)
    }

    static func refusal(_ validator: HallpassValidator, _ token: String) -> ValidationError? {
        do {
            _ = try validator.validate(token)
            return nil
        } catch {
            return error
        }
    }

    /// A token request answered by a hub that may still be reconnecting to Redis: 503s are retried.
    static func served(_ request: () async throws -> HubClient.Reply) async throws -> HubClient.Reply {
        var reply = try await request()
        let deadline = ContinuousClock.now + .seconds(30)
        while reply.status == 503, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            reply = try await request()
        }
        return reply
    }

    @Test("one server with appendfsync always: 20 times, `hallpass logout` returns and Redis is SIGKILLed at once; after its restart the old access token is refused at a validator and the old refresh token at the hub")
    func acknowledgedLogoutSurvivesACrash() async throws {
        let server = try await RedisTestServer.start(durable: true)
        let client = try testRedisClient(url: server.url)
        let cli = CLIFixture(redis: server, url: server.url, store: HallpassStore(redis: client))
        do {
            let secret = try await Self.seed(cli, users: ["ann", "keep"])
            let hubProcess = try await HubProcess.start(redisURL: server.url)
            defer { Task { await hubProcess.stop() } }
            let hub = HubClient(baseURL: hubProcess.baseURL)
            // A session nobody ends: after every restart it must still work, or "refused" would
            // prove nothing (an empty Redis refuses everything).
            let kept = try await hub.login("keep", password: "keep pw", client: "api", secret: secret)
            var keptRefresh = try #require(kept.string("refresh_token"), "\(kept.text)")

            var held = 0
            var restarts: [Duration] = []
            for round in 1...20 {
                let login = try await Self.served { try await hub.login("ann", password: "ann pw", client: "api", secret: secret) }
                let access = try #require(login.string("access_token"), "round \(round): \(login.text)")
                let refresh = try #require(login.string("refresh_token"))
                let logout = try await cli.run(["logout", "ann"])
                #expect(logout.status == 0, "round \(round): \(logout.standardError)")
                await server.kill()
                let started = ContinuousClock.now
                try await server.restart()
                restarts.append(ContinuousClock.now - started)

                let refused = try await Self.served { try await hub.refresh(refresh, client: "api", secret: secret) }
                #expect(refused.status == 400 && refused.string("error") == "invalid_grant", "round \(round): \(refused.text)")
                let renewed = try await Self.served { try await hub.refresh(keptRefresh, client: "api", secret: secret) }
                #expect(renewed.status == 200, "round \(round): the untouched session was lost: \(renewed.text)")
                keptRefresh = renewed.string("refresh_token") ?? keptRefresh
                let keptAccess = renewed.string("access_token") ?? ""
                try await Self.withFreshValidator(issuer: hubProcess.baseURL, url: server.url) { validator in
                    let refusal = Self.refusal(validator, access)
                    #expect(refusal == .revoked(.session), "round \(round): \(String(describing: refusal))")
                    #expect(Self.refusal(validator, keptAccess) == nil, "round \(round)")
                    if refusal == .revoked(.session) && refused.status == 400 { held += 1 }
                }
            }
            #expect(held == 20)
            // This Redis fsyncs before it replies: the hub's start-up check has nothing to warn of.
            let log = try String(contentsOf: hubProcess.log, encoding: .utf8)
            #expect(log.contains("Redis keeps acknowledged security writes"), "\(hubProcess.logTail())")
            #expect(!log.contains("does not fsync"), "\(hubProcess.logTail())")
            let slowest = restarts.max() ?? .zero
            print("durability (one server, appendfsync always): \(held)/20 acknowledged logouts held after SIGKILL and restart; slowest restart \(slowest)")
        } catch {
            await client.shutdown()
            await server.stop()
            throw error
        }
        await client.shutdown()
        await server.stop()
    }

    @Test("Sentinel: with the replica SIGSTOPped, a logout, a `tokens revoke` and an RFC 7009 revocation are reported unconfirmed (exit 1, 503); those acknowledged before hold after the master is SIGKILLed and the replica promoted; the unconfirmed ones succeed when retried")
    func acknowledgedRevocationsSurviveAFailover() async throws {
        try await Self.withSentinel { deployment, client in
            let master = deployment.server
            let replica = try #require(deployment.replica)
            let sentinel = try #require(deployment.sentinel)
            let url = deployment.url
            var joined: RedisTestServer?
            var cli = CLIFixture(redis: master, url: url, store: HallpassStore(redis: client), durableReplicas: deployment.durableReplicas)
            cli.extraArguments = ["--durable-timeout-ms", "500"]
            do {
                let names = ["ann", "bob", "cy", "dee", "eve", "fay", "gus"]
                let secret = try await Self.seed(cli, users: names)
                let hubProcess = try await HubProcess.start(redisURL: url, environment: ["HALLPASS_DURABLE_TIMEOUT_MS": "500"])
                defer { Task { await hubProcess.stop() } }
                let hub = HubClient(baseURL: hubProcess.baseURL)
                let tokens = try await Self.logIn(names, at: hub, secret: secret)
                func jti(_ name: String) throws -> String { try #require(claim("jti", of: tokens[name]?.access ?? "")?.stringValue) }

                // Acknowledged: the replica has each before the CLI or the hub answers.
                #expect(try await cli.run(["logout", "ann"]).status == 0)
                #expect(try await cli.run(["tokens", "revoke", try jti("cy")]).status == 0)
                let revoked = try await hub.post("/oauth2/revoke", form: [("token", tokens["eve"]?.refresh ?? "")], basic: ("api", secret))
                #expect(revoked.status == 200, "\(revoked.text)")

                // The replica stops: nothing more can be confirmed.
                replica.pause()
                let started = ContinuousClock.now
                let logout = try await cli.run(["logout", "bob"])
                let waited = ContinuousClock.now - started
                #expect(logout.status == 1)
                #expect(logout.standardError.contains("may not be durable"), "\(logout.standardError)")
                let revoke = try await cli.run(["tokens", "revoke", try jti("dee")])
                #expect(revoke.status == 1 && revoke.standardError.contains("may not be durable"), "\(revoke.standardError)")
                let unconfirmed = try await hub.post("/oauth2/revoke", form: [("token", tokens["fay"]?.refresh ?? "")], basic: ("api", secret))
                #expect(unconfirmed.status == 503, "\(unconfirmed.text)")

                // The master dies before the replica got those; the replica resumes and is promoted.
                await master.kill()
                let killed = ContinuousClock.now
                replica.resume()
                let admin = try testRedisClient(url: "redis://127.0.0.1:\(sentinel.port)")
                defer { Task { await admin.shutdown() } }
                try await waitUntil("the Sentinel to promote the replica", seconds: 60, toleratingErrors: true) {
                    try await admin.send(RedisCommand("SENTINEL", "get-master-addr-by-name", "mymaster")).array?.last?.int
                        == Int64(replica.port)
                }
                let promoted = ContinuousClock.now - killed

                // Every acknowledged revocation holds, at the hub and at a fresh validator.
                let annRefresh = try await Self.served { try await hub.refresh(tokens["ann"]?.refresh ?? "", client: "api", secret: secret) }
                #expect(annRefresh.status == 400, "\(annRefresh.text)")
                let eveRefresh = try await Self.served { try await hub.refresh(tokens["eve"]?.refresh ?? "", client: "api", secret: secret) }
                #expect(eveRefresh.status == 400, "\(eveRefresh.text)")
                let gusRefresh = try await Self.served { try await hub.refresh(tokens["gus"]?.refresh ?? "", client: "api", secret: secret) }
                #expect(gusRefresh.status == 200, "the untouched session did not survive the failover: \(gusRefresh.text)")
                let gusAccess = gusRefresh.string("access_token") ?? ""
                try await Self.withFreshValidator(issuer: hubProcess.baseURL, url: url) { validator in
                    #expect(Self.refusal(validator, tokens["ann"]?.access ?? "") == .revoked(.session))
                    #expect(Self.refusal(validator, tokens["cy"]?.access ?? "") == .revoked(.token))
                    #expect(Self.refusal(validator, tokens["eve"]?.access ?? "") != nil)
                    #expect(Self.refusal(validator, gusAccess) == nil)
                }

                // A new replica joins the new master: the unconfirmed changes, retried, are confirmed now.
                let newReplica = try await RedisTestServer.start(replicaOf: replica)
                joined = newReplica
                try await newReplica.waitUntilReplicating(seconds: 30)
                var retried = try await cli.run(["logout", "bob"])
                for _ in 0..<20 where retried.status != 0 {
                    try await Task.sleep(for: .milliseconds(500))
                    retried = try await cli.run(["logout", "bob"])
                }
                #expect(retried.status == 0, "\(retried.standardError)")
                #expect(try await cli.run(["tokens", "revoke", try jti("dee")]).status == 0)
                let again = try await Self.served {
                    try await hub.post("/oauth2/revoke", form: [("token", tokens["fay"]?.refresh ?? "")], basic: ("api", secret))
                }
                #expect(again.status == 200, "\(again.text)")
                try await Self.withFreshValidator(issuer: hubProcess.baseURL, url: url) { validator in
                    #expect(Self.refusal(validator, tokens["bob"]?.access ?? "") == .revoked(.session))
                    #expect(Self.refusal(validator, tokens["dee"]?.access ?? "") == .revoked(.token))
                    #expect(Self.refusal(validator, tokens["fay"]?.access ?? "") != nil)
                }
                print(
                    "durability (Sentinel, replica stopped): 3/3 acknowledged revocations held after the failover, 3/3 unconfirmed ones "
                        + "reported (the CLI waited \(waited) for the replica); promotion \(promoted) after the kill")
            } catch {
                replica.resume()
                await joined?.stop()
                throw error
            }
            await joined?.stop()
        }
    }

    @Test("Cluster: with a master's replica SIGSTOPped, a logout of a user on that master is reported unconfirmed (exit 1); one acknowledged before holds after the master is SIGKILLed and its replica promoted")
    func acknowledgedLogoutSurvivesAClusterFailover() async throws {
        let cluster = try await RedisClusterTestServer.start(masters: 3, replicasPerMaster: 1)
        let client = try testRedisClient(url: cluster.url)
        var cli = CLIFixture(redis: cluster.nodes[0], url: cluster.url, store: HallpassStore(redis: client), durableReplicas: 1)
        cli.extraArguments = ["--durable-timeout-ms", "500"]
        do {
            // Users until two share a master: ann, whose logout is confirmed, and one more, whose
            // logout is not; gus elsewhere, untouched.
            var names = ["ann"]
            let secret = try await Self.seed(cli, users: ["ann"])
            func slot(of name: String) async throws -> Int {
                let user = try #require(try await cli.store.user(named: name))
                let shard = try #require(StoreSchema.shard(of: user.id))
                let placement = try await client.placement(ofKeys: [StoreSchema.shardPrefix(shard) + "ev"])
                return try #require(placement.first).slot
            }
            func master(of name: String) async throws -> Int {
                let slot = try await slot(of: name)
                return try #require(try await cluster.master(ofSlot: slot))
            }
            let victim = try await master(of: "ann")
            // Asked now: once the master is killed, reading ann's record waits for the promotion.
            let annSlot = try await slot(of: "ann")
            var other: String?
            for index in 0..<64 where other == nil {
                let name = "user\(index)"
                #expect(try await cli.run(["users", "add", name, "--password-stdin"], input: "\(name) pw\n").status == 0)
                if try await master(of: name) == victim { other = name; names.append(name) }
            }
            let bob = try #require(other)
            let replica = try #require(try await cluster.replicas(of: victim).first)
            let hubProcess = try await HubProcess.start(redisURL: cluster.url, environment: ["HALLPASS_DURABLE_TIMEOUT_MS": "500"])
            defer { Task { await hubProcess.stop() } }
            let hub = HubClient(baseURL: hubProcess.baseURL)
            let tokens = try await Self.logIn(names, at: hub, secret: secret)

            #expect(try await cli.run(["logout", "ann"]).status == 0)
            cluster.nodes[replica].pause()
            let logout = try await cli.run(["logout", bob])
            #expect(logout.status == 1 && logout.standardError.contains("may not be durable"), "\(logout.standardError)")
            await cluster.nodes[victim].kill()
            let killed = ContinuousClock.now
            cluster.nodes[replica].resume()
            try await waitUntil("the replica to be promoted", seconds: 60, toleratingErrors: true) {
                try await cluster.master(ofSlot: annSlot, excluding: [victim]) == replica
            }
            let promoted = ContinuousClock.now - killed

            let annRefresh = try await Self.served { try await hub.refresh(tokens["ann"]?.refresh ?? "", client: "api", secret: secret) }
            #expect(annRefresh.status == 400, "the acknowledged logout was undone: \(annRefresh.text)")
            try await Self.withFreshValidator(issuer: hubProcess.baseURL, url: cluster.url) { validator in
                #expect(Self.refusal(validator, tokens["ann"]?.access ?? "") == .revoked(.session))
            }
            print("durability (Cluster, replica stopped): the acknowledged logout held after its master was killed; the unconfirmed one was reported; promotion \(promoted) after the kill")
        } catch {
            for node in cluster.nodes { node.resume() }
            await client.shutdown()
            await cluster.stop()
            throw error
        }
        await client.shutdown()
        await cluster.stop()
    }

    @Test("a rotation lost in a crash: the successor the client got is refused (invalid_grant) without ending the session, its predecessor still refreshes, and no reuse is detected")
    func lostRotation() async throws {
        // Snapshots only (no AOF), so the test decides what the restart loses: everything after SAVE.
        let server = try await RedisTestServer.start()
        let client = try testRedisClient(url: server.url)
        let cli = CLIFixture(redis: server, url: server.url, store: HallpassStore(redis: client))
        do {
            let secret = try await Self.seed(cli, users: ["ann"])
            let hubProcess = try await HubProcess.start(redisURL: server.url, arguments: ["--refresh-grace", "0"])
            defer { Task { await hubProcess.stop() } }
            // Without an append-only file this Redis cannot keep a revocation through a crash,
            // and the hub says so at start.
            try await waitUntil("the hub's persistence warning", seconds: 10) {
                (try? String(contentsOf: hubProcess.log, encoding: .utf8))?.contains("Redis does not fsync before it replies (appendonly no") == true
            }
            let hub = HubClient(baseURL: hubProcess.baseURL)
            let login = try await hub.login("ann", password: "ann pw", client: "api", secret: secret)
            let first = try #require(login.string("refresh_token"), "\(login.text)")
            let rotated = try await hub.refresh(first, client: "api", secret: secret)
            let predecessor = try #require(rotated.string("refresh_token"), "\(rotated.text)")
            _ = try await client.send(RedisCommand("SAVE"))
            let lost = try await hub.refresh(predecessor, client: "api", secret: secret)
            let successor = try #require(lost.string("refresh_token"), "\(lost.text)")
            await server.kill()
            try await server.restart()

            let presented = try await Self.served { try await hub.refresh(successor, client: "api", secret: secret) }
            #expect(presented.status == 400 && presented.string("error") == "invalid_grant", "\(presented.text)")
            let recovered = try await hub.refresh(predecessor, client: "api", secret: secret)
            #expect(recovered.status == 200, "the session was ended: \(recovered.text)")
            let next = try #require(recovered.string("refresh_token"))
            #expect(try await hub.refresh(next, client: "api", secret: secret).status == 200)
            let events = try document(try await cli.run(["--json", "events"])).arrayValue ?? []
            let types = events.compactMap { $0.objectValue?["type"]?.stringValue }
            #expect(!types.contains("refresh_reuse_detected"), "\(types)")
            #expect(types.contains("refresh_rotation_lost"), "\(types)")
            // An older token than the one the store knows is still a replay: refused, and it
            // ends the session, as reuse detection must.
            let older = try await hub.refresh(first, client: "api", secret: secret)
            #expect(older.status == 400, "\(older.text)")
            print("lost rotation: successor refused (\(presented.status)), predecessor refreshed (\(recovered.status)), no reuse detected; an older token refused (\(older.status))")
        } catch {
            await client.shutdown()
            await server.stop()
            throw error
        }
        await client.shutdown()
        await server.stop()
    }

    /// The topology suites' Sentinel deployment (a master, its replica, one Sentinel) with a
    /// store client of its URL, for `body`; every process is stopped after, paused or not.
    @Test("Sentinel: a refresh token's reuse ends its session as a security write: with the replica up the hub says the session has ended; with it SIGSTOPped it answers 503 instead, and the session is ended all the same")
    func reuseDetectionWaitsForTheReplica() async throws {
        try await Self.withSentinel { deployment, client in
            let replica = try #require(deployment.replica)
            let cli = CLIFixture(redis: deployment.server, url: deployment.url, store: HallpassStore(redis: client), durableReplicas: deployment.durableReplicas)
            do {
                let secret = try await Self.seed(cli, users: ["ann", "bob"])
                let hubProcess = try await HubProcess.start(redisURL: deployment.url, environment: ["HALLPASS_DURABLE_TIMEOUT_MS": "500"])
                defer { Task { await hubProcess.stop() } }
                let hub = HubClient(baseURL: hubProcess.baseURL)
                // Two rotations: the first token is then reuse even within the grace window.
                func chain(_ user: String) async throws -> (first: String, last: String) {
                    let login = try await hub.login(user, password: "\(user) pw", client: "api", secret: secret)
                    let first = try #require(login.string("refresh_token"), "\(login.text)")
                    var last = first
                    for _ in 0..<2 {
                        let refreshed = try await hub.refresh(last, client: "api", secret: secret)
                        last = try #require(refreshed.string("refresh_token"), "\(refreshed.text)")
                    }
                    return (first, last)
                }

                let bob = try await chain("bob")
                let confirmed = try await hub.refresh(bob.first, client: "api", secret: secret)
                #expect(confirmed.status == 400 && confirmed.text.contains("the session has ended"), "\(confirmed.text)")

                let ann = try await chain("ann")
                replica.pause()
                let unconfirmed = try await hub.refresh(ann.first, client: "api", secret: secret)
                replica.resume()
                #expect(unconfirmed.status == 503, "\(unconfirmed.text)")
                #expect(!unconfirmed.text.contains("the session has ended"))
                // Ended on the master all the same: the newest token is refused too.
                let after = try await Self.served { try await hub.refresh(ann.last, client: "api", secret: secret) }
                #expect(after.status == 400 && after.string("error") == "invalid_grant", "\(after.text)")
                let log = try String(contentsOf: hubProcess.log, encoding: .utf8)
                #expect(log.components(separatedBy: "refresh token reuse detected").count - 1 == 2, "\(hubProcess.logTail())")
                print("durability (Sentinel): a reuse detection's session end answered 400 with the replica up, 503 with it stopped; both sessions ended")
            } catch {
                replica.resume()
                throw error
            }
        }
    }

    static func withSentinel(_ body: (TopologyFixture, RedisClient) async throws -> Void) async throws {
        try await withRedisTopology(.sentinel) { deployment in
            let client = try testRedisClient(url: deployment.url)
            do {
                try await body(deployment, client)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
    }

    /// Logs each of `names` (seeded by ``seed(_:users:)``) in at `hub`: their access and refresh tokens.
    static func logIn(_ names: [String], at hub: HubClient, secret: String) async throws -> [String: (access: String, refresh: String)] {
        var tokens: [String: (access: String, refresh: String)] = [:]
        for name in names {
            let login = try await hub.login(name, password: "\(name) pw", client: "api", secret: secret)
            tokens[name] = (try #require(login.string("access_token"), "\(login.text)"), try #require(login.string("refresh_token")))
        }
        return tokens
    }

    /// Users with password "<name> pw" and a confidential client "api"; returns its secret.
    static func seed(_ cli: CLIFixture, users: [String]) async throws -> String {
        for user in users {
            let added = try await cli.run(["users", "add", user, "--password-stdin"], input: "\(user) pw\n")
            try #require(added.status == 0, "\(added.standardError)")
        }
        let added = try document(try await cli.run([
            "--json", "clients", "add", "api", "--grant", "password", "--grant", "refresh_token",
        ]))
        return try #require(added.objectValue?["client_secret"]?.stringValue)
    }
}
