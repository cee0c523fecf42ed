/// What went wrong talking to Redis.
///
/// No message ever contains a password: URL errors name the offending part, not the URL, and
/// server messages are passed through as Redis wrote them (Redis never echoes credentials).
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The Redis URL could not be parsed; the message says which part is wrong.
    case invalidURL(String)
    /// The URL is valid but names something this client cannot do yet (Redis Cluster, Sentinel over TLS).
    case unsupported(String)
    /// A TLS setting is unusable: a file that cannot be read or holds no PEM certificate or
    /// key, a certificate without its key (or the reverse), a key that does not match the
    /// certificate, or TLS files given for a URL that does not use TLS.
    case invalidTLSSetting(RedisTLSConfiguration.Setting, String)
    /// The TLS handshake with the server at `address` ("host:port") failed; `reason` says why.
    case tlsHandshakeFailed(address: String, reason: RedisTLSFailure)
    /// The TCP connection could not be established, or the handshake failed for a reason other
    /// than credentials (for example `SELECT` of a database the server does not have).
    case connectionFailed(String)
    /// Connecting, authenticating and selecting the database together took longer than
    /// ``RedisConfiguration/connectTimeout``.
    case connectTimedOut
    /// The server rejected the credentials, or demands credentials that were not configured.
    /// Carries the server's message, such as `WRONGPASS ...` or `NOAUTH ...`.
    case authenticationFailed(String)
    /// The server answered the command with an error reply, such as `WRONGTYPE ...`.
    case server(String)
    /// No reply arrived within the command's timeout. The connection was closed, because replies
    /// are matched to commands by order and a late reply would be taken for the next command's.
    case commandTimedOut
    /// The connection closed (or was closed) before the reply arrived. The command may or may not
    /// have been executed by the server.
    case connectionClosed
    /// The client is waiting out its reconnect backoff after a failed connect and fails fast
    /// instead of queueing, so callers can report "service unavailable" at once.
    case unavailable
    /// The master of a Sentinel-managed service could not be found; the failure says why.
    case sentinel(RedisSentinelFailure)
    /// The server sent bytes that are not valid RESP; the connection was closed.
    case protocolError(String)
    /// A command for a Redis Cluster names keys in different hash slots (`slots`), which no
    /// node could run; refused before anything was sent. `command` is the command's name.
    case crossSlot(command: String, slots: [Int])
    /// A command to a Redis Cluster was redirected (`MOVED`, `ASK`) more times than the client
    /// allows, or kept being refused with `TRYAGAIN`, `CLUSTERDOWN` or `LOADING` until its
    /// timeout; `last` is the last reply. The slots are moving faster than the client follows.
    case tooManyRedirects(command: String, last: String)
    /// The layout of a Redis Cluster could not be learnt or used; the failure says why.
    case cluster(RedisClusterFailure)
    /// The server answered with a well-formed reply of a shape the operation did not expect.
    case unexpectedReply(String)
    /// The client already had ``RedisConfiguration/maximumPendingCommands`` commands waiting for
    /// a reply; this one was refused without being sent, so that a stalled server costs callers
    /// a prompt error rather than an ever longer queue.
    case overloaded(limit: Int)

    /// A sentence saying what went wrong, fit for logs.
    public var description: String {
        switch self {
        case .invalidURL(let detail): "invalid Redis URL: \(detail)"
        case .unsupported(let detail): detail
        case .invalidTLSSetting(let setting, let detail): "\(setting.optionName): \(detail)"
        case .tlsHandshakeFailed(let address, let reason): "TLS handshake with \(address) failed: \(reason)"
        case .connectionFailed(let detail): "could not connect to Redis: \(detail)"
        case .connectTimedOut: "connecting to Redis timed out"
        case .authenticationFailed(let message): "Redis rejected the credentials: \(message)"
        case .server(let message): "Redis error reply: \(message)"
        case .commandTimedOut: "Redis did not reply within the command timeout; the connection was closed"
        case .connectionClosed: "the connection to Redis closed before the reply arrived"
        case .unavailable: "Redis is unavailable; waiting before the next reconnect attempt"
        case .sentinel(let failure): "Redis Sentinel: \(failure)"
        case .protocolError(let detail): "Redis protocol error: \(detail)"
        case .crossSlot(let command, let slots):
            "\(command) names keys in different Redis Cluster hash slots (\(slots.map(String.init).joined(separator: ", "))); "
                + "give them one hash tag"
        case .tooManyRedirects(let command, let last):
            "\(command) was redirected or refused by the Redis Cluster too many times; last reply: \(last)"
        case .cluster(let failure): "Redis Cluster: \(failure)"
        case .unexpectedReply(let detail): "unexpected reply from Redis: \(detail)"
        case .overloaded(let limit): "\(limit) Redis commands are already waiting for a reply; refused without sending"
        }
    }
}

/// Why a TLS handshake with Redis failed, as far as the client can tell.
public enum RedisTLSFailure: Sendable, Hashable, CustomStringConvertible {
    /// The server's certificate does not chain to a trusted CA (unknown CA, self-signed).
    case untrustedCertificate
    /// The server's certificate has expired.
    case expiredCertificate
    /// The server's certificate is not valid yet.
    case certificateNotYetValid
    /// The server's certificate is not for the name (or IP address) the client connected to.
    case hostnameMismatch(expected: String)
    /// The server answered in plaintext: it does not speak TLS on this port.
    case notTLS
    /// The server refused the handshake with an alert, typically because it requires a client
    /// certificate and got none, or one it does not trust; carries the alert as reported.
    case rejectedByServer(String)
    /// The server closed the connection before the handshake completed.
    case closedDuringHandshake
    /// The server closed the connection right after the handshake, before answering anything.
    /// With TLS 1.3 that is how a Redis that requires client certificates refuses a client
    /// without one (or with one it does not trust): its alert is often lost with the reset.
    case closedAfterHandshake
    /// Any other failure, as the TLS library reported it.
    case other(String)

    /// A short phrase, fit to follow "TLS handshake with host:port failed: ".
    public var description: String {
        switch self {
        case .untrustedCertificate: "certificate is not trusted (unknown CA)"
        case .expiredCertificate: "certificate has expired"
        case .certificateNotYetValid: "certificate is not yet valid"
        case .hostnameMismatch(let expected): "certificate does not match the host name \(expected)"
        case .notTLS: "the server does not speak TLS (it answered in plaintext)"
        case .rejectedByServer(let detail):
            "the server refused the connection (\(detail)); does it require a client certificate "
                + "(--redis-cert-file, --redis-key-file) it did not get or does not trust?"
        case .closedDuringHandshake: "the server closed the connection during the handshake"
        case .closedAfterHandshake:
            "the server closed the connection right after the handshake; does it require a client certificate "
                + "(--redis-cert-file, --redis-key-file) it did not get or does not trust?"
        case .other(let detail): detail
        }
    }
}

/// Why a Redis Cluster's layout could not be learnt or used.
public enum RedisClusterFailure: Sendable, Hashable, CustomStringConvertible {
    /// No node could be asked for the layout: each one's reason, as "host:port: what went wrong".
    case noNodeReachable(reasons: [String])
    /// No master serves this hash slot (the cluster is incomplete or a failover is under way).
    case slotNotServed(Int)
    /// A node answered `CLUSTER SHARDS` with something that is not a cluster layout.
    case malformedLayout(String)

    /// One line saying what went wrong.
    public var description: String {
        switch self {
        case .noNodeReachable(let reasons):
            "no cluster node could be asked for the slot layout: " + reasons.joined(separator: "; ")
        case .slotNotServed(let slot): "no master serves hash slot \(slot)"
        case .malformedLayout(let detail): "unexpected CLUSTER SHARDS reply: \(detail)"
        }
    }
}
