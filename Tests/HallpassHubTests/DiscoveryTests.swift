import HallpassJOSE
import HallpassTestSupport
import Testing

@Suite("Discovery, JWKS and interop with PyJWT")
struct DiscoveryTests {
    @Test("discovery names the issuer, every endpoint under it, S256 PKCE and back-channel logout, and the endpoints answer there")
    func discoveryDocument() async throws {
        try await withAddressedHub { hub in
            let reply = try await hub.get(HubPath.discovery)
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type")?.hasPrefix("application/json") == true)
            let issuer = try #require(reply.string("issuer"))
            #expect(issuer == hub.baseURL)
            let endpoints = [
                "jwks_uri": HubPath.jwks, "token_endpoint": HubPath.token, "revocation_endpoint": HubPath.revocation,
                "introspection_endpoint": HubPath.introspection, "end_session_endpoint": HubPath.endSession,
                "userinfo_endpoint": HubPath.userinfo, "authorization_endpoint": HubPath.authorization,
            ]
            for (member, path) in endpoints {
                #expect(reply.string(member) == issuer + path, "\(member)")
            }
            #expect(reply["code_challenge_methods_supported"] == ["S256"])
            #expect(reply["backchannel_logout_supported"] == true)
            let grants = reply["grant_types_supported"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(grants.contains("password") && grants.contains("refresh_token") && grants.contains("authorization_code"))
            #expect(reply["response_types_supported"] == ["code"])
            #expect(reply["authorization_response_iss_parameter_supported"] == true)
            #expect(reply["backchannel_logout_session_supported"] == true)
            let algorithms = reply["id_token_signing_alg_values_supported"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(algorithms.contains("ES256"))
            #expect(!algorithms.contains { $0 == "none" || $0.hasPrefix("HS") })

            // Every advertised endpoint exists where discovery says.
            let jwks = try await HubFixture.plainGet(try #require(reply.string("jwks_uri")))
            #expect(jwks.status == 200)
            #expect((jwks["keys"]?.arrayValue?.count ?? 0) >= 1)
            for member in ["token_endpoint", "revocation_endpoint", "introspection_endpoint"] {
                let url = try #require(reply.string(member))
                let answer = try await hub.post(String(url.dropFirst(issuer.count)), form: [])
                #expect(answer.status == 401 || answer.status == 400, "\(member) answered \(answer.status)")
            }
            #expect(try await HubFixture.plainGet(try #require(reply.string("userinfo_endpoint"))).status == 401)
        }
    }

    @Test(
        "PyJWT, given only the issuer, finds the JWKS through discovery and verifies the hub's access token",
        arguments: JWSAlgorithm.allCases)
    func pyjwtVerifiesThroughDiscovery(algorithm: JWSAlgorithm) async throws {
        // Throws when HALLPASS_PYTHON is unset: a skipped interop check would read like a passed one.
        let python = try InteropPython.executable()
        try await withAddressedHub(configure: { $0.signingAlgorithm = algorithm }) { hub in
            let user = try await hub.addUser("bella", password: "pw-bella-1")
            let secret = try #require(try await hub.addClient("notes"))
            let tokens = try await hub.loginTokens("bella", password: "pw-bella-1", client: "notes", secret: secret)

            let request: JSONValue = [
                "issuer": .string(hub.configuration.issuer), "audience": "notes", "token": .string(tokens.access),
            ]
            let output = try await runProcess(
                python, [InteropPython.script("hub_discovery_interop.py").path], input: request.serializedString)
            try #require(
                output.status == 0,
                "hub_discovery_interop.py exited with \(output.status)\nstderr:\n\(output.standardError)\nstdout:\n\(output.standardOutput)")
            let response = try #require(
                try JSONParser.parse(Array(output.standardOutput.utf8)).objectValue, "not a JSON object: \(output.standardOutput)")

            #expect(response["discovery_issuer"] == .string(hub.baseURL))
            #expect(response["jwks_uri"] == .string(hub.baseURL + HubPath.jwks))
            #expect(response["key_algorithm"] == .string(algorithm.rawValue))
            let header = try #require(response["header"]?.objectValue)
            #expect(header["alg"] == .string(algorithm.rawValue))
            #expect(header["typ"] == "at+jwt")
            #expect(header["kid"] == response["key_id"])
            let claims = try #require(response["claims"]?.objectValue)
            #expect(claims["sub"] == .string(user.id))
            #expect(claims["aud"] == "notes")
            #expect(claims["client_id"] == "notes")
            #expect(claims["iss"] == .string(hub.baseURL))
            #expect(claims["sid"] == .string(tokens.sessionID))
            #expect(response["wrong_audience"] == "InvalidAudienceError")
            #expect(response["wrong_issuer"] == "InvalidIssuerError")
        }
    }
}
