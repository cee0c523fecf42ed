import Logging
import NIOCore

/// Why finding the master of a Sentinel-managed service failed.
public enum RedisSentinelFailure: Sendable, Hashable, CustomStringConvertible {
    /// Every Sentinel that answered said it monitors no service of this name.
    case unknownService(String)
    /// No Sentinel could be asked: each one's reason, as "host:port: what went wrong".
    case noSentinelReachable(service: String, reasons: [String])
    /// The address the Sentinels gave kept answering `ROLE` with something other than `master`
    /// (a failover still settling, or stale Sentinels).
    case notMaster(service: String, address: String, role: String)

    /// One line saying what went wrong.
    public var description: String {
        switch self {
        case .unknownService(let service):
            "the Sentinels know no service named \"\(service)\" (check the name after the Sentinel addresses in the URL)"
        case .noSentinelReachable(let service, let reasons):
            "no Sentinel could be asked for the master of \"\(service)\": " + reasons.joined(separator: "; ")
        case .notMaster(let service, let address, let role):
            "the Sentinels named \(address) as the master of \"\(service)\", but it says its role is \(role)"
        }
    }
}

/// Finds a service's master through Redis Sentinel and connects to it, following Redis's
/// Sentinel client guidelines: ask the Sentinels in turn for the master's address, connect to
/// it, and confirm with `ROLE` that it is the master before using it.
///
/// Every connect resolves again, so a ``RedisClient`` that lost its connection (a failover
/// kills clients, and the connection closes on `READONLY`) finds the new master by itself.
/// A connection that stays open to the old master would learn of a failover only once the
/// Sentinels demote that master (its next `READONLY`, up to ten seconds later, during which the
/// old master still takes writes that the failover then discards); a ``RedisClient`` therefore
/// also watches the Sentinels (``RedisSentinelWatch``) and closes its connections to a master
/// they no longer name.
enum RedisSentinel {
    /// How often a master that denies being one is re-resolved before giving up; the connect
    /// timeout bounds the retries too.
    static let roleAttempts = 5
    /// The pause before asking again: long enough for the Sentinels to catch up with a failover.
    static let roleRetryDelay = Duration.milliseconds(250)

    /// Connects to the master of `service` with `configuration`'s data-node credentials and
    /// database, on a connection that closes itself on `READONLY` or `UNBLOCKED`.
    ///
    /// With `tls` (`rediss+sentinel://`), the Sentinels and the master are all reached over TLS,
    /// each certificate checked against the name it was reached by: the Sentinel's host from
    /// the URL, and the address the Sentinels give for the master (usually an IP address, which
    /// the master's certificate must then carry as a subject alternative name).
    ///
    /// With `watch`, the connection is registered there, to be closed when the Sentinels name
    /// another master.
    static func connectToMaster(
        service: String,
        sentinels: [RedisEndpoint],
        configuration: RedisConfiguration,
        tls: RedisTLS?,
        watch: RedisSentinelWatch? = nil,
        on eventLoop: any EventLoop,
        logger: Logger
    ) async throws -> RedisConnection {
        let deadline = ContinuousClock.now + configuration.connectTimeout
        var attempt = 0
        while true {
            attempt += 1
            let master = try await Self.resolve(
                service: service, sentinels: sentinels, configuration: configuration, tls: tls, on: eventLoop, logger: logger)
            var data = configuration
            data.topology = .server
            data.host = master.host
            data.port = master.port
            let connection = try await RedisConnection.connectServer(
                to: data, tls: tls?.retargeted(to: master.host), on: eventLoop, logger: logger, closesOnRoleChange: true)
            let role: String
            do {
                role = try await Self.role(of: connection, logger: logger)
            } catch {
                await connection.close()
                throw error
            }
            if role == "master" {
                watch?.register(connection, master: master)
                return connection
            }
            await connection.close()
            logger.info(
                "the Sentinels' master is not a master (yet); asking again",
                metadata: ["redis.service": "\(service)", "redis.address": "\(master)", "redis.role": "\(role)"])
            guard attempt < Self.roleAttempts, ContinuousClock.now + Self.roleRetryDelay < deadline else {
                throw RedisError.sentinel(.notMaster(service: service, address: master.description, role: role))
            }
            // An async sleep: a connect runs on a task, never holding an event loop.
            try await Task.sleep(for: Self.roleRetryDelay)
        }
    }

    /// Asks the Sentinels in turn for the master's address, each within its share of the
    /// connect timeout, so that a dead Sentinel cannot use up the time of the live ones.
    static func resolve(
        service: String,
        sentinels: [RedisEndpoint],
        configuration: RedisConfiguration,
        tls: RedisTLS?,
        on eventLoop: any EventLoop,
        logger: Logger
    ) async throws(RedisError) -> RedisEndpoint {
        let timeout = configuration.connectTimeout / max(sentinels.count, 1)
        var reasons: [String] = []
        var answeredUnknown = false
        for sentinel in sentinels {
            let reply: RedisValue
            do {
                let connection = try await Self.connect(
                    toSentinel: sentinel, configuration: configuration, tls: tls, timeout: timeout, on: eventLoop, logger: logger)
                do {
                    reply = try await connection.send(RedisCommand("SENTINEL", "get-master-addr-by-name", service))
                    await connection.close()
                } catch {
                    await connection.close()
                    throw error
                }
            } catch {
                logger.debug("could not ask a Sentinel", metadata: ["redis.sentinel": "\(sentinel)", "error": "\(error)"])
                reasons.append("\(sentinel): \(error)")
                continue
            }
            if reply == .null {
                answeredUnknown = true
            } else if let master = Self.masterAddress(in: reply) {
                return master
            } else {
                reasons.append("\(sentinel): unexpected reply \(reply)")
            }
        }
        if answeredUnknown {
            throw .sentinel(.unknownService(service))
        }
        throw .sentinel(.noSentinelReachable(service: service, reasons: reasons))
    }

    /// A connection to one Sentinel. Sentinels have no ACL users of their own here and no
    /// databases: only their password.
    static func connect(
        toSentinel sentinel: RedisEndpoint, configuration: RedisConfiguration, tls: RedisTLS?, timeout: Duration,
        on eventLoop: any EventLoop, logger: Logger
    ) async throws -> RedisConnection {
        let sentinelConfiguration = RedisConfiguration(
            host: sentinel.host, port: sentinel.port, password: configuration.sentinelPassword,
            connectTimeout: timeout, commandTimeout: timeout)
        return try await RedisConnection.connectServer(
            to: sentinelConfiguration, tls: tls?.retargeted(to: sentinel.host), on: eventLoop, logger: logger,
            closesOnRoleChange: false)
    }

    /// The master's address in a `SENTINEL get-master-addr-by-name` reply (`[host, port]`), or
    /// `nil` for anything else.
    static func masterAddress(in reply: RedisValue) -> RedisEndpoint? {
        guard case .array(let parts) = reply, parts.count == 2, let host = parts[0].string, !host.isEmpty,
            let port = parts[1].int.flatMap({ Int(exactly: $0) }), (1...65535).contains(port)
        else { return nil }
        return RedisEndpoint(host: host, port: port)
    }

    /// The first element of the `ROLE` reply: `master`, `slave` or `sentinel`.
    private static func role(of connection: RedisConnection, logger: Logger) async throws -> String {
        do {
            let reply = try await connection.send(RedisCommand("ROLE"))
            guard let role = reply.array?.first?.string else {
                throw RedisError.unexpectedReply("ROLE answered \(reply)")
            }
            return role
        } catch RedisError.server(let message) where message.hasPrefix("NOPERM") {
            // ROLE is an admin command; a user the ACL denies it to cannot check, and refusing to
            // connect at all would be worse than trusting the Sentinels' answer.
            logger.debug("ROLE is denied to this user; trusting the Sentinels' answer")
            return "master"
        }
    }
}
