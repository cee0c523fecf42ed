import HallpassCrypto

/// Where and how to connect to Redis.
///
/// Printing a configuration (``description``, `String(reflecting:)`, `dump`) never shows the
/// password; use ``redactedURL`` in logs.
public struct RedisConfiguration: Sendable {
    /// The server's host name or IP address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The ACL user to authenticate as; `nil` authenticates as Redis's `default` user.
    /// Only used together with ``password``.
    public var username: String?
    /// The password sent with `AUTH`; `nil` sends no `AUTH`.
    public var password: String?
    /// The logical database to `SELECT` after connecting; 0 (Redis's default) sends no `SELECT`.
    public var database: Int
    /// The limit for establishing a connection: TCP connect, `AUTH` and `SELECT` together.
    public var connectTimeout: Duration
    /// How long a command may wait for its reply before it fails with
    /// ``RedisError/commandTimedOut`` and the connection is closed.
    public var commandTimeout: Duration
    /// The delays a ``RedisClient`` waits after failed connects: the lower bound after the first
    /// failure, doubling with each further failure, capped at the upper bound.
    public var reconnectBackoff: ClosedRange<Duration>

    /// A configuration with every setting given explicitly or defaulted.
    public init(
        host: String = "localhost",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        reconnectBackoff: ClosedRange<Duration> = .milliseconds(50)...(.seconds(2))
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectBackoff = reconnectBackoff
    }

    /// Parses `redis://[user[:password]@]host[:port][/database]`.
    ///
    /// User and password are percent-decoded. The port defaults to 6379 and the database to 0;
    /// an IPv6 address is written in brackets (`redis://[::1]:6379`). Timeouts and backoff take
    /// their defaults and can be changed on the result.
    ///
    /// - Throws: ``RedisError/invalidURL(_:)`` for another scheme (TLS `rediss://` included), a
    ///   missing host, a port outside 1...65535, a database that is not a non-negative integer,
    ///   a query or fragment, or a malformed percent escape. The message never repeats the
    ///   credentials.
    public init(url: String) throws(RedisError) {
        let scheme = "redis://"
        guard url.utf8.count >= scheme.utf8.count,
            url.utf8.prefix(scheme.utf8.count).lazy.map(Self.asciiLowercased).elementsEqual(scheme.utf8)
        else {
            throw RedisError.invalidURL("expected a URL starting with \(scheme)")
        }
        var rest = url.dropFirst(scheme.count)

        var username: String?
        var password: String?
        // The last "@" ends the credentials: a password with an unescaped "@" or "/" is still
        // split off correctly, and no later part of a valid URL can contain "@".
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                username = try Self.percentDecoded(userInfo[..<colon], part: "user name")
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], part: "password")
            } else {
                username = try Self.percentDecoded(userInfo, part: "user name")
            }
            if username?.isEmpty == true { username = nil }
            if password?.isEmpty == true { password = nil }
        }

        guard !rest.contains("?"), !rest.contains("#") else {
            throw RedisError.invalidURL("query strings and fragments are not supported")
        }
        let slash = rest.firstIndex(of: "/")
        let authority = rest[..<(slash ?? rest.endIndex)]
        let path = slash.map { rest[rest.index(after: $0)...] } ?? ""

        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw RedisError.invalidURL("unterminated IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let afterHost = authority[authority.index(after: close)...]
            if !afterHost.isEmpty {
                guard afterHost.hasPrefix(":") else {
                    throw RedisError.invalidURL("unexpected text after the IPv6 address")
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
            throw RedisError.invalidURL("missing host")
        }

        var port = 6379
        if let portText {
            guard let parsed = Self.decimal(portText), (1...65535).contains(parsed) else {
                throw RedisError.invalidURL("invalid port '\(portText)'; expected 1...65535")
            }
            port = parsed
        }

        var database = 0
        if !path.isEmpty {
            guard let parsed = Self.decimal(path) else {
                throw RedisError.invalidURL("invalid database '\(path)'; expected a non-negative integer")
            }
            database = parsed
        }

        self.init(host: String(host), port: port, username: username, password: password, database: database)
    }

    /// The configuration as a `redis://` URL with the password replaced by `***`, for logs.
    public var redactedURL: String {
        var url = "redis://"
        if self.username != nil || self.password != nil {
            url += Self.percentEncoded(self.username ?? "")
            if self.password != nil { url += ":***" }
            url += "@"
        }
        url += self.host.contains(":") ? "[\(self.host)]" : self.host
        url += ":\(self.port)/\(self.database)"
        return url
    }

    /// "host:port", for log metadata.
    var address: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

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
            throw RedisError.invalidURL("malformed percent escape in the \(part)")
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw RedisError.invalidURL("the \(part) is not valid UTF-8 once percent-decoded")
        }
        return decoded
    }

    /// Escapes everything but RFC 3986 unreserved characters, so the user name reads back as itself.
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

extension RedisConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The ``redactedURL``.
    public var description: String { self.redactedURL }

    /// The ``redactedURL`` and timeouts; never the password.
    public var debugDescription: String {
        "RedisConfiguration(\(self.redactedURL), connectTimeout: \(self.connectTimeout), "
            + "commandTimeout: \(self.commandTimeout), reconnectBackoff: \(self.reconnectBackoff))"
    }

    /// Mirrors every setting except that a set password shows as `***`, so `dump` is safe too.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": self.host,
                "port": self.port,
                "username": self.username as Any,
                "password": (self.password == nil ? nil : "***") as String? as Any,
                "database": self.database,
                "connectTimeout": self.connectTimeout,
                "commandTimeout": self.commandTimeout,
                "reconnectBackoff": self.reconnectBackoff,
            ],
            displayStyle: .struct
        )
    }
}
