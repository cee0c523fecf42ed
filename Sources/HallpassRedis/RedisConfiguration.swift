/// Where and how to connect to Redis.
///
/// Printing a configuration (``description``, `String(reflecting:)`, `dump`) never shows the
/// password; use ``redactedURL`` in logs.
public struct RedisConfiguration: Sendable {
    /// The server's host name or IP address. For Sentinel and Cluster, the first node listed
    /// (``topology`` has them all).
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// One server, Sentinel or Cluster, each in plaintext or over TLS.
    public var topology: RedisTopology = .server
    /// TLS settings; `nil` connects in plaintext. Set by a `rediss` URL.
    public var tls: RedisTLSConfiguration?
    /// The password of the Sentinels themselves, when they have one (`requirepass` in
    /// sentinel.conf); the URL's credentials are the data nodes'. Executables take it from
    /// `HALLPASS_REDIS_SENTINEL_PASSWORD`; the library reads no environment.
    public var sentinelPassword: String?
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
    /// How often a client of a Redis Cluster asks for the slot layout again even when nothing
    /// told it the layout changed (a `MOVED` reply or a lost master makes it ask at once).
    public var clusterRefreshInterval: Duration = .seconds(5)
    /// The most commands a ``RedisClient`` lets wait for a reply at once, over all its
    /// connections; beyond it a command fails at once with ``RedisError/overloaded(limit:)``.
    /// `nil` (the default) sets no bound. A server sets one: with Redis paused or slow, every
    /// request would otherwise queue behind the command timeout, and memory grow with the queue.
    public var maximumPendingCommands: Int?

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

    /// Parses a Redis URL in any of the forms of CONTRACT section 2:
    /// `redis://[user[:password]@]host[:port][/db]` (one server),
    /// `redis+sentinel://[user[:password]@]host[:port][,host[:port]...]/SERVICE[/db]` (the master
    /// of SERVICE, through these Sentinels; port 26379 by default) and
    /// `redis+cluster://[user[:password]@]host[:port][,host[:port]...]` (a Cluster, from these seed
    /// nodes), each with `rediss` instead of `redis` for TLS.
    ///
    /// User and password are percent-decoded; they are the data nodes' credentials (a Sentinel's
    /// own password goes in ``sentinelPassword``). The port defaults to 6379 and the database to
    /// 0; an IPv6 address is written in brackets (`redis://[::1]:6379`). `rediss` sets ``tls`` to
    /// a default ``RedisTLSConfiguration`` (the system's trust roots, no client certificate).
    /// Timeouts and backoff take their defaults and can be changed on the result.
    ///
    /// - Throws: ``RedisError/invalidURL(_:)`` for another scheme, a missing host, a port outside
    ///   1...65535, an empty node list or an empty entry in it, several hosts in a `redis://` URL,
    ///   a Sentinel URL without a service name, a database that is not a non-negative integer, a
    ///   query or fragment, or a malformed percent escape. The message never repeats the
    ///   credentials.
    public init(url: String) throws(RedisError) {
        let parsed = try RedisURL(parsing: url)
        self.init(
            host: parsed.primary.host, port: parsed.primary.port, username: parsed.username, password: parsed.password,
            database: parsed.database)
        self.topology = parsed.topology
        self.tls = parsed.usesTLS ? RedisTLSConfiguration() : nil
    }

    /// The configuration as a URL with the password replaced by `***`, for logs.
    public var redactedURL: String {
        RedisURL.redacted(
            topology: self.topology, primary: RedisEndpoint(host: self.host, port: self.port), username: self.username,
            password: self.password, database: self.database, usesTLS: self.tls != nil)
    }

    /// "host:port", for log metadata.
    var address: String {
        RedisEndpoint(host: self.host, port: self.port).description
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
                "topology": self.topology,
                "tls": self.tls as Any,
                "sentinelPassword": (self.sentinelPassword == nil ? nil : "***") as String? as Any,
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
