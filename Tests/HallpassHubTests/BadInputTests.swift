import Foundation
import Testing

@Suite("Bad input gets a 4xx JSON error, never a 5xx")
struct BadInputTests {
    static let password = "pw-SECRET-carl-4711"

    @Test("a body over 64 KiB is refused with 413 and a JSON error")
    func oversizedBody() async throws {
        try await withHub { hub in
            let secret = try #require(try await hub.addClient("api"))
            let body = Array("grant_type=password&username=carl&password=\(Self.password)&filler=".utf8)
                + Array(repeating: UInt8(ascii: "a"), count: 70 * 1024)
            let reply = try await hub.post(HubPath.token, form: [], basic: ("api", secret), rawBody: body)
            expectError(reply, status: 413, code: "invalid_request")
            #expect(!reply.text.contains(Self.password))
            #expect(!reply.text.contains(secret))
        }
    }

    @Test("a wrong content type, a repeated parameter or non-UTF-8 bytes are 400 invalid_request")
    func malformedForms() async throws {
        try await withHub { hub in
            try await hub.addUser("carl", password: Self.password)
            let secret = try #require(try await hub.addClient("api"))
            let login = "grant_type=password&username=carl&password=\(Self.password)"
            let cases: [(String, String, [UInt8])] = [
                ("JSON body", "application/json", Array(#"{"grant_type":"password","username":"carl","password":"\#(Self.password)"}"#.utf8)),
                ("plain text", "text/plain", Array(login.utf8)),
                ("repeated password", "application/x-www-form-urlencoded", Array((login + "&password=\(Self.password)").utf8)),
                ("repeated grant_type", "application/x-www-form-urlencoded", Array((login + "&grant_type=password").utf8)),
                ("raw non-UTF-8 bytes", "application/x-www-form-urlencoded", Array(login.utf8) + Array("&scope=".utf8) + [0xFF, 0xFE]),
                ("percent-encoded non-UTF-8", "application/x-www-form-urlencoded", Array((login + "&scope=%C3%28").utf8)),
                ("bad percent escape", "application/x-www-form-urlencoded", Array((login + "&scope=%G1").utf8)),
            ]
            for (name, contentType, body) in cases {
                let reply = try await hub.post(HubPath.token, form: [], basic: ("api", secret), contentType: contentType, rawBody: body)
                expectError(reply, status: 400, code: "invalid_request")
                #expect(!reply.text.contains(Self.password), "\(name) echoed the password")
                #expect(!reply.text.contains(secret), "\(name) echoed the client secret")
            }
            // The same login, well formed (with a charset parameter), works.
            let good = try await hub.post(
                HubPath.token, form: [], basic: ("api", secret), contentType: "application/x-www-form-urlencoded; charset=UTF-8",
                rawBody: Array(login.utf8))
            #expect(good.status == 200, "\(good.text)")
        }
    }

    @Test("a 60 KB username is answered like a wrong password")
    func hugeUsername() async throws {
        try await withHub { hub in
            let secret = try #require(try await hub.addClient("api"))
            let username = String(repeating: "u", count: 60_000)
            let reply = try await hub.login(username, password: Self.password, client: "api", secret: secret)
            expectError(reply, status: 400, code: "invalid_grant")
            #expect(reply.body.count < 1024)
            #expect(!reply.text.contains(Self.password))
            let wrong = try await hub.login("nobody", password: "x", client: "api", secret: secret)
            #expect(reply.string("error_description") == wrong.string("error_description"))
        }
    }

    @Test("an unknown grant_type is unsupported_grant_type; a missing one is invalid_request")
    func grantTypes() async throws {
        try await withHub { hub in
            let secret = try #require(try await hub.addClient("api"))
            // The device and client credentials grants are supported now (DeviceFlowTests,
            // ClientCredentialsTests); grant types are case-sensitive.
            for grant in ["CLIENT_CREDENTIALS", "PASSWORD", "x"] {
                let reply = try await hub.post(HubPath.token, form: [("grant_type", grant)], basic: ("api", secret))
                expectError(reply, status: 400, code: "unsupported_grant_type")
            }
            let missing = try await hub.post(
                HubPath.token, form: [("username", "carl"), ("password", Self.password)], basic: ("api", secret))
            expectError(missing, status: 400, code: "invalid_request")
            #expect(!missing.text.contains(Self.password))
            let empty = try await hub.post(HubPath.token, form: [("grant_type", "")], basic: ("api", secret))
            expectError(empty, status: 400, code: "invalid_request")
        }
    }

    @Test("a malformed or wrong Basic header is 401 invalid_client with a Basic challenge, and never echoes the secret")
    func badClientAuthentication() async throws {
        try await withHub { hub in
            let secret = try #require(try await hub.addClient("api"))
            let form = [("grant_type", "password"), ("username", "carl"), ("password", Self.password)]
            let headers = [
                "Basic !!!not-base64!!!",
                "Basic " + Data("no-colon".utf8).base64EncodedString(),
                "Basic " + Data([0xFF, 0x3A, 0xFE]).base64EncodedString(),
                "Basic " + Data("api:wrong-\(secret)".utf8).base64EncodedString(),
                "Basic " + Data("unknown-client:\(secret)".utf8).base64EncodedString(),
                "Basic ",
            ]
            for header in headers {
                let reply = try await hub.post(HubPath.token, form: form, headers: [("Authorization", header)])
                expectError(reply, status: 401, code: "invalid_client")
                #expect(reply.header("WWW-Authenticate")?.hasPrefix("Basic") == true, "\(header)")
                #expect(!reply.text.contains(secret))
                #expect(!reply.text.contains(Self.password))
            }
            // No client authentication at all: 401 too, but no Basic challenge was provoked.
            expectError(try await hub.post(HubPath.token, form: form), status: 401, code: "invalid_client")
        }
    }

    @Test("client_secret_post works; Basic and client_secret_post together are invalid_request; a public client with a secret is invalid_client")
    func clientAuthenticationMethods() async throws {
        try await withHub { hub in
            try await hub.addUser("carl", password: Self.password)
            let secret = try #require(try await hub.addClient("api"))
            try await hub.addClient("spa", confidential: false)
            let login = [("grant_type", "password"), ("username", "carl"), ("password", Self.password)]

            let posted = try await hub.post(HubPath.token, form: login + [("client_id", "api"), ("client_secret", secret)])
            #expect(posted.status == 200, "\(posted.text)")

            let both = try await hub.post(HubPath.token, form: login + [("client_secret", secret)], basic: ("api", secret))
            expectError(both, status: 400, code: "invalid_request")
            #expect(!both.text.contains(secret))

            let wrongPosted = try await hub.post(HubPath.token, form: login + [("client_id", "api"), ("client_secret", "nope")])
            expectError(wrongPosted, status: 401, code: "invalid_client")
            // No Authorization header was used, so no Basic challenge.
            #expect(wrongPosted.header("WWW-Authenticate") == nil)

            let publicWithSecret = try await hub.post(HubPath.token, form: login + [("client_id", "spa"), ("client_secret", "x")])
            expectError(publicWithSecret, status: 401, code: "invalid_client")
            let publicClient = try await hub.post(HubPath.token, form: login + [("client_id", "spa")])
            #expect(publicClient.status == 200, "\(publicClient.text)")
        }
    }

    @Test("an unknown path is 404 JSON and a wrong method is a 4xx JSON error")
    func unknownPathsAndMethods() async throws {
        try await withHub { hub in
            for path in ["/nope", "/oauth2", "/oauth2/token/extra", "/.well-known/unknown"] {
                let reply = try await hub.get(path)
                #expect(reply.status == 404, "\(path)")
                #expect(reply.header("Content-Type")?.hasPrefix("application/json") == true)
                #expect(reply.string("error")?.isEmpty == false)
            }
            let posted = try await hub.post("/nope", form: [("password", Self.password)])
            #expect(posted.status == 404)
            #expect(!posted.text.contains(Self.password))
            let wrongMethod = try await hub.get(HubPath.token)
            #expect((400..<500).contains(wrongMethod.status), "GET token answered \(wrongMethod.status)")
            #expect(wrongMethod.string("error")?.isEmpty == false)
        }
    }
}
