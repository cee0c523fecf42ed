import Foundation
import HallpassHub
import HallpassJOSE
import HallpassRedis
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("Device authorization grant (RFC 8628): endpoint and polling")
struct DeviceFlowTests {
    @Test("discovery lists the device authorization endpoint and the device_code grant")
    func discovery() async throws {
        try await withHub { hub in
            let document = try #require(try await hub.get(HubPath.discovery).json?.objectValue)
            #expect(document["device_authorization_endpoint"]?.stringValue == hub.configuration.issuer + DeviceFlow.authorizationPath)
            #expect(document["grant_types_supported"]?.arrayValue?.contains(.string(DeviceFlow.grantType)) == true)
        }
    }

    @Test("the device authorization response: a long device code, an easy user code, the page URIs, expiry and interval; no code in Redis")
    func response() async throws {
        try await withHub { hub in
            try await hub.addDeviceClient("tv")
            let start = try await hub.startDevice(client: "tv")
            #expect(start.reply.header("Cache-Control") == "no-store")
            #expect(start.deviceCode.utf8.count >= 52)  // 256 bits in base32
            let userCode = try #require(start.userCode.wholeMatch(of: /[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}/))
            #expect(!userCode.output.isEmpty)
            #expect(start.verificationURI == hub.configuration.issuer + DeviceFlow.verificationPath)
            #expect(start.complete == start.verificationURI + "?user_code=" + start.userCode)
            #expect(start.reply["expires_in"]?.integerValue == 600)
            #expect(start.interval == 5)
            // Two requests, two different codes.
            let again = try await hub.startDevice(client: "tv")
            #expect(again.deviceCode != start.deviceCode && again.userCode != start.userCode)
            // Only digests reach Redis.
            let keys = try #require(try await hub.store.redis.send(RedisCommand("KEYS", "*")).array?.compactMap(\.string))
            let normalized = start.userCode.replacingOccurrences(of: "-", with: "")
            #expect(!keys.contains { $0.contains(start.deviceCode) || $0.contains(normalized) })
        }
    }

    @Test("device authorization refusals: unknown client, wrong secret, no client, client not registered for the grant, bad scope")
    func authorizationRefusals() async throws {
        try await withHub { hub in
            let secret = try #require(try await hub.addDeviceClient("box", confidential: true))
            try await hub.addClient("web-only", confidential: false, grants: ["authorization_code", "refresh_token"])
            expectError(try await hub.deviceAuthorization(client: "nobody"), status: 401, code: "invalid_client")
            expectError(try await hub.deviceAuthorization(client: "box", secret: secret + "x"), status: 401, code: "invalid_client")
            expectError(try await hub.deviceAuthorization(client: "box"), status: 401, code: "invalid_client")
            expectError(try await hub.post(DeviceFlow.authorizationPath, form: [("scope", "openid")]), status: 401, code: "invalid_client")
            expectError(try await hub.deviceAuthorization(client: "web-only"), status: 400, code: "unauthorized_client")
            let longScope = Array(repeating: "openid", count: 300).joined(separator: " ")
            expectError(try await hub.deviceAuthorization(client: "box", secret: secret, scope: longScope), status: 400, code: "invalid_scope")
            // A confidential client authenticates; then it is served.
            let start = try await hub.startDevice(client: "box", secret: secret)
            expectError(try await hub.pollDevice(start.deviceCode, client: "box", secret: secret), status: 400, code: "authorization_pending")
        }
    }

    @Test("polling refusals: missing device_code, unknown code, another client's code, a client not registered for the grant")
    func pollRefusals() async throws {
        try await withHub(configure: DeviceFlow.fast) { hub in
            try await hub.addDeviceClient("tv")
            try await hub.addDeviceClient("radio")
            try await hub.addClient("pw-only", confidential: false, grants: ["password", "refresh_token"])
            let start = try await hub.startDevice(client: "tv")
            expectError(try await hub.pollDevice(nil, client: "tv"), status: 400, code: "invalid_request")
            expectError(try await hub.pollDevice(String(repeating: "a", count: 52), client: "tv"), status: 400, code: "invalid_grant")
            expectError(try await hub.pollDevice("not-a-code", client: "tv"), status: 400, code: "invalid_grant")
            expectError(try await hub.pollDevice(start.deviceCode, client: "radio"), status: 400, code: "invalid_grant")
            expectError(try await hub.pollDevice(start.deviceCode, client: "pw-only"), status: 400, code: "unauthorized_client")
            expectError(try await hub.pollDevice(start.deviceCode, client: "nobody"), status: 401, code: "invalid_client")
            // None of that touched the code: its own client is still told to wait.
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "authorization_pending")
        }
    }

    @Test("authorization_pending, then slow_down for a poll within the interval, which grows; waiting the larger interval is pending again")
    func slowDown() async throws {
        // Margins of ten seconds: on a loaded 2-core CI machine two polls in a row once came
        // more than two seconds apart.
        try await withHub(configure: { configuration in
            configuration.deviceAuthorization.interval = 10
            configuration.deviceAuthorization.slowDownIncrement = 10
        }) { hub in
            try await hub.addDeviceClient("tv")
            let start = try await hub.startDevice(client: "tv")
            #expect(start.interval == 10)
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "authorization_pending")
            // At once: too soon. The interval becomes 20 s.
            let fast = try await hub.pollDevice(start.deviceCode, client: "tv")
            expectError(fast, status: 400, code: "slow_down")
            #expect(fast.header("Cache-Control") == "no-store")
            // After the old interval but within the new one: too soon again (now 30 s).
            try await Task.sleep(for: .seconds(11))
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "slow_down")
            // Waiting the larger interval is fine.
            try await Task.sleep(for: .seconds(31))
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "authorization_pending")
        }
    }

    @Test("expired_token once the device code expired; its user code no longer opens the page")
    func expiry() async throws {
        try await withAddressedHub(configure: { configuration in
            DeviceFlow.fast(&configuration)
            configuration.deviceAuthorization.lifetime = 3
        }) { hub in
            try await hub.addUser("erin", password: "pw-erin-1")
            try await hub.addDeviceClient("tv")
            let start = try await hub.startDevice(client: "tv")
            #expect(start.reply["expires_in"]?.integerValue == 3)
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "authorization_pending")
            try await Task.sleep(for: .milliseconds(3300))
            expectError(try await hub.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "expired_token")
            let page = try await TestBrowser().request(start.complete)
            #expect(page.status == 400, "\(page.text)")
            #expect(!page.text.contains("name=\"decision\""))
        }
    }

    @Test("an unsupported grant type is still refused, naming the device grant among the supported ones")
    func unsupportedGrant() async throws {
        try await withHub { hub in
            try await hub.addDeviceClient("tv")
            let reply = try await hub.post(HubPath.token, form: [("grant_type", "urn:example:nope"), ("client_id", "tv")])
            expectError(reply, status: 400, code: "unsupported_grant_type")
            #expect(reply.string("error_description")?.contains(DeviceFlow.grantType) == true)
        }
    }

    @Test(
        "hallpass-hub refuses a --device-code-ttl or HALLPASS_DEVICE_CODE_TTL out of 1-3600 as a usage error",
        arguments: [(["--device-code-ttl", "0"], [String: String]()), ([], ["HALLPASS_DEVICE_CODE_TTL": "4000"])])
    func badDeviceCodeLifetime(arguments: [String], environment: [String: String]) async throws {
        var inherited = ProcessInfo.processInfo.environment
        inherited.merge(environment) { $1 }
        // Port 1 and an unreachable Redis: a hub that got past the check would fail otherwise.
        let result = try await runProcess(
            try HubProcess.executable(), ["--redis", "redis://127.0.0.1:1/0", "--port", "1"] + arguments, environment: inherited)
        #expect(result.status == 64, "exit \(result.status): \(result.standardError)")
        #expect(result.standardError.contains("--device-code-ttl must be 1-3600 seconds"), "\(result.standardError)")
    }

    @Test("started at one hub, approved at another, polled at either: the device flow lives in Redis, not in a hub")
    func acrossHubs() async throws {
        let redis = try await RedisTestServer.start()
        do {
            var fast = HubConfiguration.forTests(redis: redis)
            DeviceFlow.fast(&fast)
            let configuration = fast
            try await runHub(configuration, redis: redis) { a in
                try await runHub(configuration, redis: redis) { b in
                    try await a.addUser("moe", password: "pw-moe-1")
                    try await a.addDeviceClient("tv")
                    let start = try await a.startDevice(client: "tv")
                    expectError(try await b.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "authorization_pending")
                    // The complete URI names the configured issuer; the page is served by hub B.
                    let atB = b.baseURL + DeviceFlow.verificationPath + "?user_code=" + start.userCode
                    let done = try await b.decideDevice(atB, browser: TestBrowser(), username: "moe", password: "pw-moe-1")
                    #expect(done.status == 200)
                    _ = try HubFixture.tokens(try await a.pollDevice(start.deviceCode, client: "tv"), "device exchange at A", sourceLocation: #_sourceLocation)
                    expectError(try await b.pollDevice(start.deviceCode, client: "tv"), status: 400, code: "invalid_grant")
                }
            }
        } catch {
            await redis.stop()
            throw error
        }
        await redis.stop()
    }
}
