
/// Tokens whose signature and header were already verified, by their exact text, with what
/// the verification produced (`Value`).
///
/// Verifying an ECDSA signature costs tens of microseconds; looking up the same bytes costs a
/// hash. Identical bytes checked against the same keys give the same answer, so the verdict
/// is reused. Time and revocation are not: callers check `nbf` and revocation on every call,
/// and an entry is never served at or after the instant it was stored with (the token's `exp`
/// plus leeway): a lookup then removes it.
///
/// Shared by the hub (introspection, logout, userinfo) and the `Hallpass` validator. The cache
/// belongs to one set of keys; when keys are withdrawn, call ``removeAll()``. It is bounded:
/// a full shard first drops its expired entries and, if still full, is emptied (cheap, and a
/// cold entry only costs one verification). Entries are spread over 16 shards, each behind its
/// own ``ReadMostlyLock``, chosen by the token's last byte (a signature byte): lookups share
/// it, so concurrent requests never queue behind each other, and no lock is held across
/// anything but a dictionary access.
public final class VerifiedTokenCache<Value: Sendable>: Sendable {
    // The members below are inlinable, and so these internals usable from inline code: a
    // caller in another module then gets code specialised for its `Value`, without a generic
    // metadata look-up on every call (measured: a fifth of the hot path's time otherwise).
    @usableFromInline
    struct Entry: Sendable {
        @usableFromInline let value: Value
        /// The instant (s since 1970) from which the entry must not be served.
        @usableFromInline let expiresAt: Double

        @usableFromInline init(value: Value, expiresAt: Double) {
            self.value = value
            self.expiresAt = expiresAt
        }
    }

    /// The exact token text as a dictionary key, hashed by its last 32 bytes only: those are
    /// signature bytes, unpredictable and distinct per token, and hashing them costs a tenth
    /// of hashing the whole token. Equality still compares every byte. (An attacker cannot
    /// fill a shard with colliding keys: only tokens that verified are stored, and the hash
    /// is seeded per process.)
    @usableFromInline
    struct Key: Hashable, Sendable {
        @usableFromInline let token: String

        @usableFromInline init(token: String) { self.token = token }

        @inlinable static func == (a: Key, b: Key) -> Bool { a.token == b.token }

        @inlinable func hash(into hasher: inout Hasher) {
            let hashed: Void? = token.utf8.withContiguousStorageIfAvailable { bytes in
                hasher.combine(bytes.count)
                hasher.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes.suffix(32))))
            }
            if hashed == nil {
                let bytes = Array(token.utf8)
                hasher.combine(bytes.count)
                bytes.suffix(32).withUnsafeBytes { hasher.combine(bytes: $0) }
            }
        }
    }

    @usableFromInline
    final class Shard: Sendable {
        @usableFromInline let entries = ReadMostlyLock<[Key: Entry]>([:])
        @usableFromInline init() {}
    }

    @usableFromInline let shards: [Shard]
    @usableFromInline let shardCapacity: Int

    /// The number of shards; a power of two.
    @usableFromInline static var shardCount: Int { 16 }

    /// A cache of about `capacity` entries (at least one per shard).
    public init(capacity: Int = 10_000) {
        shards = (0..<Self.shardCount).map { _ in Shard() }
        shardCapacity = max(1, capacity / Self.shardCount)
    }

    /// The maximum number of entries the cache holds.
    public var capacity: Int { shardCapacity * Self.shardCount }

    @inlinable @inline(__always)
    func shard(for token: String) -> Shard {
        shards[Int(token.utf8.last ?? 0) & (Self.shardCount - 1)]
    }

    /// The value stored for exactly `token`, or `nil` if there is none or it expired at `now`
    /// (an expired entry is removed).
    @inlinable
    public func value(for token: String, now: Double) -> Value? {
        let key = Key(token: token)
        let shard = shard(for: token)
        let found = shard.entries.withReadLock { entries in entries[key] }
        guard let found else { return nil }
        guard now < found.expiresAt else {
            shard.entries.withWriteLock { entries in
                if let entry = entries[key], !(now < entry.expiresAt) { entries[key] = nil }
            }
            return nil
        }
        return found.value
    }

    /// Stores `value` for `token` until `expiresAt` (s since 1970; the token's `exp` plus the
    /// leeway the caller allows). Nothing is stored if `expiresAt` has passed.
    @inlinable
    public func insert(_ value: Value, for token: String, expiresAt: Double, now: Double) {
        guard now < expiresAt else { return }
        let capacity = shardCapacity
        shard(for: token).entries.withWriteLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { now < $0.value.expiresAt }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[Key(token: token)] = Entry(value: value, expiresAt: expiresAt)
        }
    }

    /// Forgets every entry (after keys were withdrawn).
    public func removeAll() {
        for shard in shards { shard.entries.withWriteLock { $0.removeAll() } }
    }

    /// The number of entries (expired ones not yet removed included).
    public var count: Int {
        shards.reduce(0) { sum, shard in sum + shard.entries.withReadLock { $0.count } }
    }
}

extension VerifiedTokenCache where Value == VerifiedJWT {
    /// Validates `token` with `validator`, reusing an earlier verification of the same bytes;
    /// `exp` and `nbf` are checked on every call, with the validator's leeway.
    public func validate(_ token: String, with validator: JWTValidator, now: Double = wallClockSeconds()) throws(JWTError) -> VerifiedJWT {
        let leeway = validator.configuration.leeway
        if let cached = value(for: token, now: now) {
            if let notBefore = cached.claims.notBefore, now + leeway < notBefore { throw .notYetValid }
            return cached
        }
        let verified = try validator.validate(token, now: now)
        if let expiration = verified.claims.expiresAt {
            insert(verified, for: token, expiresAt: expiration + leeway, now: now)
        }
        return verified
    }
}
