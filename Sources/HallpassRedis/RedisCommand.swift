/// A value that can be sent as one argument of a Redis command.
///
/// Redis arguments are byte strings; numbers are sent in decimal, as Redis parses them.
public protocol RedisArgument: Sendable {
    /// The argument as Redis receives it.
    var redisBytes: [UInt8] { get }
}

extension String: RedisArgument {
    /// The UTF-8 bytes of the string.
    public var redisBytes: [UInt8] { Array(self.utf8) }
}

extension Substring: RedisArgument {
    /// The UTF-8 bytes of the substring.
    public var redisBytes: [UInt8] { Array(self.utf8) }
}

extension Array: RedisArgument where Element == UInt8 {
    /// The bytes themselves, unchanged: binary-safe.
    public var redisBytes: [UInt8] { self }
}

extension Int: RedisArgument {
    /// The decimal form, such as `-42`.
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Int64: RedisArgument {
    /// The decimal form, such as `-42`.
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension UInt64: RedisArgument {
    /// The decimal form, such as `42`.
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Double: RedisArgument {
    /// The shortest form that reads back as the same value (`1.5`, `1e+20`, `inf`, `-inf`),
    /// all of which Redis's float parser accepts.
    public var redisBytes: [UInt8] { Array(self.description.utf8) }
}

/// One Redis command: its name and arguments, as binary-safe byte strings.
///
/// ```swift
/// let command = RedisCommand("SET", "session:42", payload, "PX", 30_000)
/// ```
public struct RedisCommand: Sendable, Hashable, CustomStringConvertible {
    /// The whole argument vector as sent: the command name first, then its arguments.
    public var arguments: [[UInt8]]

    /// A command named `name` with `arguments`.
    public init(_ name: String, _ arguments: any RedisArgument...) {
        self.init(name, arguments: arguments)
    }

    /// A command named `name` with `arguments`, for argument lists built at run time.
    public init(_ name: String, arguments: [any RedisArgument]) {
        var vector: [[UInt8]] = []
        vector.reserveCapacity(arguments.count + 1)
        vector.append(Array(name.utf8))
        for argument in arguments {
            vector.append(argument.redisBytes)
        }
        self.arguments = vector
    }

    /// The command name, for logs and error messages.
    var name: String {
        guard let first = self.arguments.first else { return "" }
        return String(decoding: first, as: UTF8.self)
    }

    /// The command name and how many arguments follow it, but never the arguments themselves:
    /// they may be credentials (`AUTH`) or session secrets.
    public var description: String {
        "\(self.name) (\(max(self.arguments.count - 1, 0)) arguments)"
    }
}

/// Something that sends a batch of commands and answers each in order: a ``RedisConnection``
/// (one server, one write) or a ``RedisClient`` (on a Redis Cluster, split per master and
/// answered in the caller's order). Lets read-only multi-key work, such as a snapshot of many
/// keys, run on either.
public protocol RedisPipelining: Sendable {
    /// Sends `commands` and returns each one's outcome, in order.
    func pipeline(_ commands: [RedisCommand]) async throws -> [Result<RedisValue, RedisError>]
}

extension RedisConnection: RedisPipelining {}
extension RedisClient: RedisPipelining {}
