/// What went wrong talking to Redis.
///
/// No message ever contains a password: URL errors name the offending part, not the URL, and
/// server messages are passed through as Redis wrote them (Redis never echoes credentials).
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `redis://` URL could not be parsed; the message says which part is wrong.
    case invalidURL(String)
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
    /// The server sent bytes that are not valid RESP; the connection was closed.
    case protocolError(String)
    /// The server answered with a well-formed reply of a shape the operation did not expect.
    case unexpectedReply(String)

    /// A sentence saying what went wrong, fit for logs.
    public var description: String {
        switch self {
        case .invalidURL(let detail): "invalid Redis URL: \(detail)"
        case .connectionFailed(let detail): "could not connect to Redis: \(detail)"
        case .connectTimedOut: "connecting to Redis timed out"
        case .authenticationFailed(let message): "Redis rejected the credentials: \(message)"
        case .server(let message): "Redis error reply: \(message)"
        case .commandTimedOut: "Redis did not reply within the command timeout; the connection was closed"
        case .connectionClosed: "the connection to Redis closed before the reply arrived"
        case .unavailable: "Redis is unavailable; waiting before the next reconnect attempt"
        case .protocolError(let detail): "Redis protocol error: \(detail)"
        case .unexpectedReply(let detail): "unexpected reply from Redis: \(detail)"
        }
    }
}
