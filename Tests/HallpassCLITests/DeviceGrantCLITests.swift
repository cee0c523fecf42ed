import Testing

@Suite("CLI: clients registered for the device authorization grant")
struct DeviceGrantCLITests {
    @Test("clients add --grant urn:ietf:params:oauth:grant-type:device_code registers the grant; clients list shows it")
    func deviceGrant() async throws {
        try await withCLI { cli in
            let grant = "urn:ietf:params:oauth:grant-type:device_code"
            let added = try await cli.run(["--json", "clients", "add", "tv", "--public", "--grant", grant, "--grant", "refresh_token"])
            #expect(added.status == 0, "\(added.standardError)")
            let stored = try #require(try await cli.store.client(id: "tv"))
            #expect(stored.grantTypes == [grant, "refresh_token"])
            #expect(!stored.isConfidential)
            let listed = try await cli.run(["clients", "list"])
            #expect(listed.status == 0)
            #expect(listed.standardOutput.contains(grant))
            // A misspelt grant is a usage error.
            let refused = try await cli.run(["clients", "add", "radio", "--grant", "device_code"])
            #expect(refused.status == 2)
        }
    }
}
