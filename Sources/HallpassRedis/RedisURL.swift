import HallpassCrypto

/// The parts of a Redis URL in any of its forms (CONTRACT section 2):
///
/// - `redis://[user[:password]@]host[:port][/db]`
/// - `redis+sentinel://[user[:password]@]host[:port][,host[:port]...]/SERVICE[/db]`
/// - `redis+cluster://[user[:password]@]host[:port][,host[:port]...]`
///
/// and each with `rediss` for TLS. Kept apart from ``RedisConfiguration`` so that the grammar,
/// and every message about breaking it, is in one place.
struct RedisURL {
    var topology: RedisTopology
    /// The server of a `redis://` URL; the first listed node otherwise.
    var primary: RedisEndpoint
    var username: String?
    var password: String?
    var database: Int
    var usesTLS: Bool

    static let defaultPort = 6379
    static let defaultSentinelPort = 26379

    private enum Kind {
        case server, sentinel, cluster
    }

    private static let schemes: [(prefix: String, kind: Kind, tls: Bool)] = [
        ("redis://", .server, false),
        ("rediss://", .server, true),
        ("redis+sentinel://", .sentinel, false),
        ("rediss+sentinel://", .sentinel, true),
        ("redis+cluster://", .cluster, false),
        ("rediss+cluster://", .cluster, true),
    ]

    /// - Throws: ``RedisError/invalidURL(_:)`` naming the part that is wrong, never the credentials.
    init(parsing url: String) throws(RedisError) {
        let lowered = url.utf8.prefix(24).map(Self.asciiLowercased)
        guard
            let scheme = Self.schemes.first(where: { lowered.starts(with: $0.prefix.utf8) })
        else {
            throw .invalidURL(
                "expected a URL starting with redis://, rediss://, redis+sentinel://, rediss+sentinel://, "
                    + "redis+cluster:// or rediss+cluster://")
        }
        var rest = url.dropFirst(scheme.prefix.count)

        // The last "@" ends the credentials: a password with an unescaped "@" or "/" is still
        // split off correctly, and no later part of a valid URL can contain "@".
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                self.username = try Self.percentDecoded(userInfo[..<colon], part: "user name")
                self.password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], part: "password")
            } else {
                self.username = try Self.percentDecoded(userInfo, part: "user name")
            }
            if self.username?.isEmpty == true { self.username = nil }
            if self.password?.isEmpty == true { self.password = nil }
        }

        guard !rest.contains("?"), !rest.contains("#") else {
            throw .invalidURL("query strings and fragments are not supported")
        }
        let slash = rest.firstIndex(of: "/")
        let authority = rest[..<(slash ?? rest.endIndex)]
        let path = slash.map { rest[rest.index(after: $0)...] } ?? ""
        self.usesTLS = scheme.tls

        switch scheme.kind {
        case .server:
            guard !authority.contains(",") else {
                throw .invalidURL(
                    "a redis:// URL names one server; use redis+sentinel:// or redis+cluster:// for several nodes")
            }
            self.primary = try Self.endpoint(authority, defaultPort: Self.defaultPort, role: "host")
            self.topology = .server
            self.database = try Self.database(path)

        case .sentinel:
            let sentinels = try Self.endpoints(authority, defaultPort: Self.defaultSentinelPort, role: "Sentinel")
            var segments = path.split(separator: "/", omittingEmptySubsequences: false)
            if segments.last?.isEmpty == true, segments.count > 1 { segments.removeLast() }
            guard let serviceText = segments.first, !serviceText.isEmpty else {
                throw .invalidURL("missing the Sentinel service name (redis+sentinel://host:port/SERVICE[/db])")
            }
            guard segments.count <= 2 else {
                throw .invalidURL("unexpected path after the service name and database")
            }
            let service = try Self.percentDecoded(serviceText, part: "service name")
            self.topology = .sentinel(sentinels: sentinels, service: service)
            self.primary = sentinels[0]
            self.database = try Self.database(segments.count == 2 ? segments[1] : "")

        case .cluster:
            let seeds = try Self.endpoints(authority, defaultPort: Self.defaultPort, role: "Cluster node")
            guard path.isEmpty || path == "0" else {
                throw .invalidURL("Redis Cluster has only database 0")
            }
            self.topology = .cluster(seeds: seeds)
            self.primary = seeds[0]
            self.database = 0
        }
    }

    /// The URL again, with the password replaced by `***`: for logs and messages.
    static func redacted(
        topology: RedisTopology, primary: RedisEndpoint, username: String?, password: String?, database: Int,
        usesTLS: Bool
    ) -> String {
        let tls = usesTLS ? "s" : ""
        var url: String
        let nodes: [RedisEndpoint]
        switch topology {
        case .server: (url, nodes) = ("redis\(tls)://", [primary])
        case .sentinel(let sentinels, _): (url, nodes) = ("redis\(tls)+sentinel://", sentinels)
        case .cluster(let seeds): (url, nodes) = ("redis\(tls)+cluster://", seeds)
        }
        if username != nil || password != nil {
            url += Self.percentEncoded(username ?? "")
            if password != nil { url += ":***" }
            url += "@"
        }
        url += nodes.map(\.description).joined(separator: ",")
        switch topology {
        case .server: url += "/\(database)"
        case .sentinel(_, let service): url += "/\(Self.percentEncoded(service))/\(database)"
        case .cluster: break
        }
        return url
    }

    // MARK: Parts

    private static func endpoints(_ list: Substring, defaultPort: Int, role: String) throws(RedisError) -> [RedisEndpoint] {
        guard !list.isEmpty else { throw .invalidURL("no \(role) address given") }
        var result: [RedisEndpoint] = []
        for item in list.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw .invalidURL("empty \(role) address in the list") }
            result.append(try Self.endpoint(item, defaultPort: defaultPort, role: role))
        }
        return result
    }

    private static func endpoint(_ authority: Substring, defaultPort: Int, role: String) throws(RedisError) -> RedisEndpoint {
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw .invalidURL("unterminated IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let afterHost = authority[authority.index(after: close)...]
            if !afterHost.isEmpty {
                guard afterHost.hasPrefix(":") else {
                    throw .invalidURL("unexpected text after the IPv6 address")
                }
                portText = afterHost.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else {
            throw .invalidURL(role == "host" ? "missing host" : "missing host in a \(role) address")
        }
        var port = defaultPort
        if let portText {
            guard let parsed = Self.decimal(portText), (1...65535).contains(parsed) else {
                throw .invalidURL("invalid port '\(portText)'; expected 1...65535")
            }
            port = parsed
        }
        return RedisEndpoint(host: String(host), port: port)
    }

    private static func database(_ path: Substring) throws(RedisError) -> Int {
        guard !path.isEmpty else { return 0 }
        guard let parsed = Self.decimal(path) else {
            throw .invalidURL("invalid database '\(path)'; expected a non-negative integer")
        }
        return parsed
    }

    // MARK: Text

    private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    /// A non-negative decimal made of ASCII digits only (`Int("+1")` would accept a sign).
    private static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return nil
        }
        return Int(text)
    }

    private static func percentDecoded(_ text: Substring, part: String) throws(RedisError) -> String {
        guard let bytes = PercentEncoding.decode(text.utf8, plusIsSpace: false) else {
            throw .invalidURL("malformed percent escape in the \(part)")
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw .invalidURL("the \(part) is not valid UTF-8 once percent-decoded")
        }
        return decoded
    }

    /// Escapes everything but RFC 3986 unreserved characters, so the text reads back as itself.
    private static func percentEncoded(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
