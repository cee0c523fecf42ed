import Foundation
import Hallpass
import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

@Suite("hallpass clients: machine clients (client credentials)")
struct MachineClientTests {
    @Test("clients add --grant client_credentials registers a confidential client that clients list shows")
    func addAndList() async throws {
        try await withCLI { cli in
            let added = try document(try await cli.run(["--json", "clients", "add", "svc", "--grant", "client_credentials"]))
            let secret = try #require(added.objectValue?["client_secret"]?.stringValue)
            let stored = try #require(try await cli.store.client(id: "svc"))
            #expect(stored.isConfidential && stored.verifySecret(secret))
            #expect(stored.grantTypes == ["client_credentials"])

            let listed = try #require(try document(try await cli.run(["--json", "clients", "list"])).arrayValue)
            let svc = try #require(listed.first { $0.objectValue?["client_id"] == "svc" }?.objectValue)
            #expect(svc["grant_types"] == ["client_credentials"])
            #expect(svc["client_type"] == "confidential")
            let table = try await cli.run(["clients", "list"])
            #expect(table.status == 0)
            let row = table.standardOutput.split(separator: "\n").first { $0.hasPrefix("svc ") }
            #expect(row?.contains("confidential") == true && row?.contains("client_credentials") == true, "\(table.standardOutput)")

            let human = try await cli.run(["clients", "add", "batch", "--grant", "client_credentials", "--grant", "password"])
            #expect(human.status == 0, "\(human.standardError)")
            #expect(human.standardOutput.hasPrefix("created confidential client batch (grants: client_credentials, password)"))
        }
    }

    @Test("clients add --public --grant client_credentials is a usage error naming the conflict, and registers nothing")
    func publicIsRefused() async throws {
        try await withCLI { cli in
            let refused = try await cli.run(["clients", "add", "svc", "--public", "--grant", "client_credentials"])
            #expect(refused.status == 2)
            #expect(refused.standardError.contains("client_credentials") && refused.standardError.contains("confidential"), "\(refused.standardError)")
            #expect(try await cli.store.client(id: "svc") == nil)
        }
    }

    @Test("clients remove voids the machine client's token and a user token of that client at the hub and at a validator as soon as it returns")
    func removeVoidsTokens() async throws {
        try await withCLI { cli in
            let added = try document(try await cli.run([
                "--json", "clients", "add", "svc", "--grant", "client_credentials", "--grant", "password",
            ]))
            let secret = try #require(added.objectValue?["client_secret"]?.stringValue)
            let introspector = try #require(
                try document(try await cli.run(["--json", "clients", "add", "api", "--grant", "password"])).objectValue?["client_secret"]?.stringValue)
            #expect(try await cli.run(["users", "add", "alice", "--password-stdin"], input: "alice pw\n").status == 0)
            let hubProcess = try await HubProcess.start(redisURL: cli.url)
            defer { Task { await hubProcess.stop() } }
            let hub = HubClient(baseURL: hubProcess.baseURL)

            let issued = try await hub.post("/oauth2/token", form: [("grant_type", "client_credentials")], basic: ("svc", secret))
            #expect(issued.status == 200, "\(issued.text)")
            let machineToken = try #require(issued.string("access_token"))
            #expect(issued.string("refresh_token") == nil)
            let login = try await hub.login("alice", password: "alice pw", client: "svc", secret: secret)
            #expect(login.status == 200, "\(login.text)")
            let userToken = try #require(login.string("access_token"))

            var configuration = HallpassValidator.Configuration(issuer: hubProcess.baseURL, audience: "svc", redisURL: cli.url)
            configuration.stalenessBound = .seconds(30)
            configuration.connectTimeout = .seconds(10)
            let validator = try HallpassValidator(configuration: configuration, logger: quietLogger)
            let running = Task { try await validator.run() }
            defer { running.cancel() }
            try #require(await validator.waitUntilCurrent(timeout: .seconds(20)))
            #expect(try validator.validate(machineToken).isClient)
            #expect(try validator.validate(userToken).kind == .user)
            #expect(try await hub.isActive(machineToken, client: "api", secret: introspector))

            let removed = try document(try await cli.run(["--json", "clients", "remove", "svc"]))
            #expect(removed == ["client_id": "svc", "removed": true])

            // The hub checks the store itself: void at once.
            #expect(try await hub.isActive(machineToken, client: "api", secret: introspector) == false)
            #expect(try await hub.isActive(userToken, client: "api", secret: introspector) == false)
            // The validator learns it from the event stream, within milliseconds.
            try await waitUntil("the validator applies the client watermark") {
                Self.refusal(validator, machineToken) == .revoked(.client)
            }
            #expect(Self.refusal(validator, userToken) == .revoked(.client))
            // The hub gives the removed client nothing more that is live.
            try await waitUntil("the hub forgets the client") {
                let again = try await hub.post("/oauth2/token", form: [("grant_type", "client_credentials")], basic: ("svc", secret))
                if again.status == 200, let token = again.string("access_token") {
                    #expect(Self.refusal(validator, token) != nil)
                    #expect(try await hub.isActive(token, client: "api", secret: introspector) == false)
                }
                return again.status == 401
            }
            let events = try await cli.run(["events", "--json", "--type", "client_tokens_revoked"])
            let logged = try #require(try document(events).arrayValue)
            #expect(logged.count == 1 && logged.first?.objectValue?["client"] == "svc", "\(events.standardOutput)")
            running.cancel()
            _ = try? await running.value
        }
    }

    static func refusal(_ validator: HallpassValidator, _ token: String) -> Hallpass.ValidationError? {
        do {
            _ = try validator.validate(token)
            return nil
        } catch {
            return error
        }
    }
}
