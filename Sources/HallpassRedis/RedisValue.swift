/// A reply from Redis, one case per RESP2 reply type.
public enum RedisValue: Sendable, Hashable {
    /// A status reply such as `OK` or `PONG`.
    case simpleString(String)
    /// An error reply such as `WRONGTYPE Operation against a key holding the wrong kind of value`.
    ///
    /// ``RedisConnection/send(_:)`` and ``RedisClient/send(_:)`` throw ``RedisError/server(_:)``
    /// instead of returning this; it appears nested inside arrays (for example in `EXEC` replies).
    case error(String)
    /// An integer reply.
    case integer(Int64)
    /// A binary-safe bulk string.
    case bulkString([UInt8])
    /// The null bulk string or null array, as `GET` of a missing key returns.
    case null
    /// An array reply, possibly nested.
    case array([RedisValue])

    /// The text of a status reply, or of a bulk string that is valid UTF-8; otherwise `nil`.
    public var string: String? {
        switch self {
        case .simpleString(let text):
            return text
        case .bulkString(let bytes):
            return Self.validUTF8(bytes)
        case .error, .integer, .null, .array:
            return nil
        }
    }

    /// The bytes of a bulk string or status reply; otherwise `nil`.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        case .error, .integer, .null, .array: nil
        }
    }

    /// An integer reply, or a bulk string holding a decimal integer (as `GET` of a counter
    /// returns); otherwise `nil`.
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bulkString(let bytes): Self.validUTF8(bytes).flatMap { Int64($0) }
        case .simpleString, .error, .null, .array: nil
        }
    }

    /// The elements of an array reply; otherwise `nil`.
    public var array: [RedisValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// Whether this is the null reply.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    private static func validUTF8(_ bytes: [UInt8]) -> String? {
        // Decoding repairs invalid sequences with U+FFFD, which changes the bytes; a value that
        // does not survive the round trip is binary data, not text.
        let text = String(decoding: bytes, as: UTF8.self)
        return text.utf8.elementsEqual(bytes) ? text : nil
    }
}
