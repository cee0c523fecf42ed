import ArgumentParser
import HallpassJOSE
import HallpassStore

/// `hallpass clients ...`
struct Clients: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients",
        abstract: "Register, list and remove clients (member apps and API clients).",
        subcommands: [Add.self, List.self, Remove.self])

    func run() async throws {
        try Hallpass.missingSubcommand(Self.self)
    }
}

/// The grant types a client may be registered for: those the hub serves.
enum GrantType: String, CaseIterable, ExpressibleByArgument {
    case password
    case refreshToken = "refresh_token"
    case authorizationCode = "authorization_code"
    /// RFC 6749 section 4.4: a confidential client gets tokens for itself, with no user.
    case clientCredentials = "client_credentials"
    /// RFC 8628: a device without a browser shows a code the user approves at the hub.
    case deviceCode = "urn:ietf:params:oauth:grant-type:device_code"

    /// What a client gets when `clients add` names no `--grant`.
    static let defaults: [GrantType] = [.password, .refreshToken, .authorizationCode]
}

extension Clients {
    /// `clients add CLIENT_ID [--public] [--redirect-uri URI]... [--post-logout-redirect-uri URI]...
    /// [--backchannel-logout-uri URI] [--grant GRANT]... [--id-token-alg ES256|EdDSA|RS256]`
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Register a client; a confidential one gets a generated secret, printed once.",
            discussion: """
                A client is confidential (authenticates with a secret) unless --public. The secret \
                is 256 random bits, shown only by this command; Hallpass stores a hash of it. \
                With --json, prints {"client_id": ..., "client_secret": ...}, without \
                client_secret for a public client. Grants default to password, refresh_token and \
                authorization_code; client_credentials (a machine client's tokens for itself) \
                needs a confidential client. --id-token-alg signs the client's ID tokens with that \
                algorithm (OIDC's id_token_signed_response_alg; every OpenID Provider supports \
                RS256) instead of the hub's primary key's, which its access tokens keep.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp(
            "The client_id: 1-64 characters of a-z A-Z 0-9 . _ -, not starting with -.", valueName: "client-id"))
        var clientID: String

        @Flag(name: .customLong("public"), help: "A public client (a browser or native app) that has no secret.")
        var isPublic = false

        @Option(name: .customLong("redirect-uri"), help: ArgumentHelp(
            "A redirect URI for the authorization code flow (repeatable).", valueName: "uri"))
        var redirectURIs: [String] = []

        @Option(name: .customLong("post-logout-redirect-uri"), help: ArgumentHelp(
            "Where the hub may send the browser after logout (repeatable).", valueName: "uri"))
        var postLogoutRedirectURIs: [String] = []

        @Option(name: .customLong("backchannel-logout-uri"), help: ArgumentHelp(
            "Where the hub POSTs OIDC back-channel logout tokens (http or https).", valueName: "uri"))
        var backchannelLogoutURI: String?

        @Option(name: .customLong("grant"), help: ArgumentHelp(
            "A grant type the client may use (repeatable; default: password, refresh_token, authorization_code; also client_credentials and urn:ietf:params:oauth:grant-type:device_code).",
            valueName: "grant"))
        var grants: [GrantType] = []

        @Option(name: .customLong("id-token-alg"), help: ArgumentHelp(
            "Sign this client's ID tokens with ES256, EdDSA or RS256 (default: the hub's primary key's algorithm).",
            valueName: "alg"))
        var idTokenAlgorithm: KeyAlgorithm?

        func validate() throws {
            guard HallpassStore.isValidClientID(clientID) else {
                throw ValidationError("'\(clientID)' is not a valid client id: use 1-64 characters of a-z A-Z 0-9 . _ -, not starting with -")
            }
            for uri in redirectURIs { try Self.checkURI(uri, flag: "--redirect-uri", webOnly: false) }
            for uri in postLogoutRedirectURIs { try Self.checkURI(uri, flag: "--post-logout-redirect-uri", webOnly: false) }
            if let backchannelLogoutURI { try Self.checkURI(backchannelLogoutURI, flag: "--backchannel-logout-uri", webOnly: true) }
            // RFC 6749 section 4.4: the grant authenticates the client, which a public one cannot.
            if isPublic && grants.contains(.clientCredentials) {
                throw ValidationError("--grant client_credentials needs a confidential client: a public client has no secret to authenticate with")
            }
        }

        /// An absolute URI without a fragment (RFC 6749 section 3.1.2; OIDC Back-Channel Logout
        /// section 2.2), at most 2048 bytes, no spaces or control characters. `http(s)` URIs
        /// need a host; other schemes are native-app redirects (RFC 8252 section 7.1).
        static func checkURI(_ uri: String, flag: String, webOnly: Bool) throws {
            func refuse(_ why: String) -> ValidationError { ValidationError("\(flag) '\(uri)': \(why)") }
            guard uri.utf8.count <= 2048 else { throw refuse("longer than 2048 bytes") }
            guard !uri.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
                throw refuse("contains a space or control character")
            }
            guard !uri.contains("#") else { throw refuse("a URI with a fragment is not allowed") }
            guard let colon = uri.firstIndex(of: ":"), let first = uri.first, first.isASCII, first.isLetter,
                uri[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
            else { throw refuse("not an absolute URI") }
            let scheme = uri[..<colon].lowercased()
            if scheme == "http" || scheme == "https" {
                let rest = uri[uri.index(after: colon)...]
                guard rest.hasPrefix("//"), let host = rest.dropFirst(2).split(separator: "/", maxSplits: 1).first,
                    !host.isEmpty, !host.hasPrefix(":"), !host.hasPrefix("?")
                else { throw refuse("an http(s) URI needs a host") }
            } else if webOnly {
                throw refuse("must be an http or https URI")
            }
        }

        func run() async throws {
            var chosen: [GrantType] = []
            for grant in grants.isEmpty ? GrantType.defaults : grants where !chosen.contains(grant) {
                chosen.append(grant)
            }
            if grants.contains(.authorizationCode) && redirectURIs.isEmpty {
                Console.note("note: \(clientID) may use authorization_code but has no --redirect-uri, so that flow cannot finish")
            }
            let (client, secret) = try await StoreConnection.run(global) { connection in
                let created = try await connection.store.createClient(
                    id: clientID, confidential: !isPublic, redirectURIs: redirectURIs,
                    postLogoutRedirectURIs: postLogoutRedirectURIs, backchannelLogoutURI: backchannelLogoutURI,
                    grantTypes: chosen.map(\.rawValue), idTokenAlgorithm: idTokenAlgorithm?.jws, actor: GlobalOptions.actor)
                try await connection.confirmAtHubs()
                return created
            }
            if global.json {
                var document: [String: JSONValue] = ["client_id": .string(client.id)]
                if let secret { document["client_secret"] = .string(secret) }
                Console.json(.object(document))
                return
            }
            let kind = client.isConfidential ? "confidential" : "public"
            print("created \(kind) client \(client.id) (grants: \(client.grantTypes.joined(separator: ", ")))")
            if let secret {
                print("client_secret: \(secret)")
                Console.note("The secret is shown only this once; Hallpass keeps only its hash. Store it now.")
            }
        }
    }

    /// `clients list`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List every client, ordered by id. Secrets are never shown.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let clients = try await StoreConnection.run(global) { try await $0.store.clients() }
            if global.json {
                Console.json(.array(clients.map(Self.json)))
                return
            }
            guard !clients.isEmpty else {
                Console.note("no clients")
                return
            }
            var table = Table("CLIENT_ID", "TYPE", "GRANTS", "ID_TOKEN_ALG", "REDIRECT_URIS", "BACKCHANNEL_LOGOUT", "CREATED")
            for client in clients {
                table.add(
                    client.id, client.isConfidential ? "confidential" : "public", client.grantTypes.joined(separator: ","),
                    client.idTokenAlgorithm?.rawValue ?? "default",
                    client.redirectURIs.joined(separator: " "), client.backchannelLogoutURI ?? "",
                    Console.timestamp(client.createdAt))
            }
            table.print()
        }

        /// A client as `clients list --json` prints it, with RFC 7591 metadata names; never a secret hash.
        static func json(_ client: ClientRecord) -> JSONValue {
            [
                "client_id": .string(client.id),
                "client_type": .string(client.isConfidential ? "confidential" : "public"),
                "grant_types": .array(client.grantTypes.map { .string($0) }),
                "redirect_uris": .array(client.redirectURIs.map { .string($0) }),
                "post_logout_redirect_uris": .array(client.postLogoutRedirectURIs.map { .string($0) }),
                "backchannel_logout_uri": client.backchannelLogoutURI.map { .string($0) } ?? .null,
                "id_token_signed_response_alg": client.idTokenAlgorithm.map { .string($0.rawValue) } ?? .null,
                "created_at": .integer(client.createdAt),
            ]
        }
    }

    /// `clients remove CLIENT_ID`
    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove a client and void every token issued to it.",
            discussion: """
                The client can no longer get or refresh tokens: its grants in live sessions stop \
                refreshing at once. Every access token issued to it so far, its own (client \
                credentials) and its users', is void at every validator and at the hub before \
                the next request. With --json, prints {"client_id": ..., "removed": true}.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The client_id to remove.", valueName: "client-id"))
        var clientID: String

        func validate() throws {
            guard HallpassStore.isValidClientID(clientID) else {
                throw ValidationError("'\(clientID)' is not a valid client id: use 1-64 characters of a-z A-Z 0-9 . _ -, not starting with -")
            }
        }

        func run() async throws {
            try await StoreConnection.run(global) { connection in
                _ = try await connection.store.removeClient(id: clientID, actor: GlobalOptions.actor)
                try await connection.confirmAtHubs()
            }
            if global.json {
                Console.json(["client_id": .string(clientID), "removed": .bool(true)])
            } else {
                print("removed client \(clientID)")
            }
        }
    }
}
