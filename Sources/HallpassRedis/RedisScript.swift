import HallpassCrypto

/// A Lua script run with `EVALSHA`, loaded on demand by ``RedisClient/evalScript(_:keys:arguments:)``.
///
/// Create scripts once (for example as `static let`s) so the SHA-1 is computed once.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// The lowercase hexadecimal SHA-1 of ``source``: the id Redis caches the script under.
    public let sha1: String

    /// Wraps `source` and computes its script id.
    public init(_ source: String) {
        self.source = source
        self.sha1 = hexString(Digest.sha1(source.utf8))
    }
}
