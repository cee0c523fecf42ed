/// A JSON object written straight into bytes, member by member, in the order the members are
/// added: for claim sets and responses built on every request, where building a dictionary
/// and sorting its keys (``JSONValue/serialized``) costs more than the bytes themselves.
///
/// The output is compact JSON like ``JSONValue/serialized``, except that members keep the
/// caller's order. The caller must not add a name twice: a JWT with repeated claim names is
/// refused by every strict parser, this library's included.
public struct JSONObjectWriter: Sendable {
    private var bytes: [UInt8]
    private var isEmpty = true

    /// An empty object with room for `capacity` bytes before it grows.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// Adds a string member.
    public mutating func add(_ name: String, _ value: String) {
        add(name, JSONValue.string(value))
    }

    /// Adds an integer member.
    public mutating func add(_ name: String, _ value: Int64) {
        add(name, JSONValue.integer(value))
    }

    /// Adds a member of any JSON value.
    public mutating func add(_ name: String, _ value: JSONValue) {
        writeName(name)
        value.write(into: &bytes)
    }

    /// The object's bytes, closed.
    public consuming func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func writeName(_ name: String) {
        if isEmpty {
            isEmpty = false
        } else {
            bytes.append(UInt8(ascii: ","))
        }
        JSONValue.writeString(name, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }
}
