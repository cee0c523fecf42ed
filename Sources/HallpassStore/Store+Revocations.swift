public import HallpassRedis

/// The event types a validator's revocation mirror acts on, as the scripts in ``Scripts``
/// write them (one place to look them up from Swift).
public enum StoreEventType {
    /// A session ended (logout, single-login eviction, refresh reuse, admin, user disabled):
    /// `sid` names it.
    public static let sessionEnded = "session_ended"
    /// One client's grant in a session was revoked: `sid`, `client`, and `detail` = the
    /// revocation time (Unix s); tokens of that grant issued at or before it are void.
    public static let grantRevoked = "grant_revoked"
    /// One access token was revoked: `detail` = its `jti`.
    public static let tokenRevoked = "token_revoked"
    /// A user's "not before" watermark was raised: `user`, `detail` = the watermark (Unix s).
    public static let userTokensRevoked = "user_tokens_revoked"
    /// A client was removed and its "not before" watermark raised: `client`, `detail` = the
    /// watermark (Unix s). Every token issued to that client at or before it is void, user
    /// tokens and the client's own alike.
    public static let clientTokensRevoked = "client_tokens_revoked"
    /// The first signing key was stored.
    public static let keyAdded = "key_added"

    /// Whether an event changes the signing keys. Every event written with the keys hash
    /// (``HallpassStore/addFirstSigningKey(_:actor:)``, ``HallpassStore/keyRotatedEvent``,
    /// ``HallpassStore/keyDeletedEvent``, ``HallpassStore/saveSigningKeys(_:event:actor:)``)
    /// must have a type starting with `key`: validators reload their keys on exactly those
    /// (and on a token whose `kid` they do not know).
    public static func changesSigningKeys(_ type: String) -> Bool { type.hasPrefix("key") }
}

/// The revocation state at one moment, and where the event streams stood just before it was
/// read, so that a reader who tails the streams from ``positions`` misses nothing.
public struct RevocationSnapshot: Sendable {
    /// For every event stream (``StoreSchema/eventStreams``), the id of its newest entry when
    /// the snapshot began (`0-0` for an empty stream). Events after these ids may or may not
    /// be in the snapshot already; applying them again is harmless.
    public var positions: [String: String]
    /// Ended sessions, each until when a record must be kept (Unix ms).
    public var endedSessions: [(sessionID: String, until: Int64)]
    /// Revoked grants: tokens of `clientID` in `sessionID` issued at or before `revokedAt`
    /// (Unix s) are void; kept until `until` (Unix ms).
    public var revokedGrants: [(sessionID: String, clientID: String, revokedAt: Int64, until: Int64)]
    /// Revoked access-token ids, each until when it is kept (Unix ms).
    public var revokedTokenIDs: [(tokenID: String, until: Int64)]
    /// Users' "not before" watermarks (Unix s): their tokens issued at or before are void.
    public var userWatermarks: [(userID: String, watermark: Int64)]
    /// Removed clients' "not before" watermarks (Unix s): every token issued to the client at
    /// or before is void.
    public var clientWatermarks: [(clientID: String, watermark: Int64)] = []
}

extension HallpassStore {
    /// Reads the whole revocation state (ended sessions, revoked grants, revoked `jti`s, user
    /// and client watermarks) on `connection`, after recording the position of every event
    /// stream.
    ///
    /// The positions are read first, so an event written while the sets are read is in the
    /// tail that follows (``readEvents(on:streams:after:count:block:)`` from
    /// ``RevocationSnapshot/positions``) even if it is not in the snapshot: no gap. Only reads
    /// (`XREVRANGE`, `ZRANGE`), so a read-only user (``StoreSchema/validatorACLRules``) can do
    /// it, and no key spans slots.
    ///
    /// `connection` is a dedicated connection on one server, or the ``HallpassRedis/RedisClient``
    /// itself on a Redis Cluster, whose pipelines reach every master.
    public static func revocationSnapshot(on connection: some RedisPipelining) async throws(StoreError) -> RevocationSnapshot {
        let streams = StoreSchema.eventStreams
        let tips = try await pipeline(streams.map { RedisCommand("XREVRANGE", $0, "+", "-", "COUNT", 1) }, on: connection)
        var positions: [String: String] = [:]
        for (stream, reply) in zip(streams, tips) {
            positions[stream] = reply.array?.first?.array?.first?.string ?? "0-0"
        }
        let sets = StoreSchema.endedSessionSets + StoreSchema.revokedGrantSets + StoreSchema.notBeforeSets
            + [StoreSchema.revokedTokenIDs, StoreSchema.clientWatermarks]
        let replies = try await pipeline(sets.map { RedisCommand("ZRANGE", $0, 0, -1, "WITHSCORES") }, on: connection)
        var snapshot = RevocationSnapshot(positions: positions, endedSessions: [], revokedGrants: [], revokedTokenIDs: [], userWatermarks: [])
        let shards = StoreSchema.shardCount
        for (index, reply) in replies.enumerated() {
            for (member, score) in scoredMembers(reply) {
                switch index {
                case 0..<shards:
                    snapshot.endedSessions.append((member, score))
                case shards..<(2 * shards):
                    let parts = member.split(separator: " ")
                    guard parts.count == 3, let revokedAt = Int64(parts[2]) else { continue }
                    snapshot.revokedGrants.append((String(parts[0]), String(parts[1]), revokedAt, score))
                case (2 * shards)..<(3 * shards):
                    snapshot.userWatermarks.append((member, score))
                case 3 * shards:
                    snapshot.revokedTokenIDs.append((member, score))
                default:
                    snapshot.clientWatermarks.append((member, score))
                }
            }
        }
        return snapshot
    }

    /// Whether a reader whose last applied events are `positions` can resume tailing the
    /// streams from there: `false` when a stream may have been trimmed past its position (its
    /// oldest entry is newer than the position while newer entries exist, or entries after it
    /// were deleted) or lost (missing, or its last id is older than the position: Redis came
    /// back without its data, or was flushed), in which case it must take a new
    /// ``revocationSnapshot(on:)``. Uses `XINFO STREAM` (Redis 7).
    public static func canResumeEvents(after positions: [String: String], on connection: some RedisPipelining) async throws(StoreError) -> Bool {
        let streams = StoreSchema.eventStreams
        let commands = streams.map { RedisCommand("XINFO", "STREAM", $0) }
        let results: [Result<RedisValue, RedisError>]
        do { results = try await connection.pipeline(commands) } catch { throw StoreError(error) }
        for (stream, result) in zip(streams, results) {
            let seen = StreamID(positions[stream] ?? "0-0")
            switch result {
            case .failure(.server(let message)) where message.contains("no such key"):
                if seen > StreamID.zero { return false }
            case .failure(let error):
                throw StoreError(error)
            case .success(let reply):
                // RESP2: a flat list of name, value; `first-entry` is [id, fields] or nil.
                var fields: [String: RedisValue] = [:]
                let items = reply.array ?? []
                var index = 0
                while index + 1 < items.count {
                    if let name = items[index].string { fields[name] = items[index + 1] }
                    index += 2
                }
                let last = StreamID(fields["last-generated-id"]?.string ?? "0-0")
                let deleted = StreamID(fields["max-deleted-entry-id"]?.string ?? "0-0")
                if last < seen || deleted > seen { return false }
                if last == seen { continue }
                // Entries after ours exist. If the oldest one left is past ours, those between
                // may have been trimmed (XTRIM and MAXLEN do not move max-deleted-entry-id);
                // the exact case (it is the very next one) is not told apart: a new snapshot
                // is always correct.
                guard let first = fields["first-entry"]?.array?.first?.string.map(StreamID.init) else { return false }
                if first > seen { return false }
            }
        }
        return true
    }

    static func pipeline(_ commands: [RedisCommand], on connection: some RedisPipelining) async throws(StoreError) -> [RedisValue] {
        let results: [Result<RedisValue, RedisError>]
        do { results = try await connection.pipeline(commands) } catch { throw StoreError(error) }
        return try values(of: results)
    }

    /// A `ZRANGE … WITHSCORES` reply (RESP2: member, score, member, score, …) as pairs with
    /// integer scores.
    static func scoredMembers(_ reply: RedisValue) -> [(String, Int64)] {
        guard let items = reply.array else { return [] }
        var pairs: [(String, Int64)] = []
        pairs.reserveCapacity(items.count / 2)
        var index = 0
        while index + 1 < items.count {
            if let member = items[index].string, let text = items[index + 1].string, let score = Double(text) {
                pairs.append((member, Int64(score)))
            }
            index += 2
        }
        return pairs
    }
}

/// A stream entry id `<ms>-<seq>`, ordered numerically.
public struct StreamID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The millisecond part.
    public var milliseconds: UInt64
    /// The sequence part.
    public var sequence: UInt64

    /// `0-0`, before every entry.
    public static let zero = StreamID(milliseconds: 0, sequence: 0)

    /// An id from its parts.
    public init(milliseconds: UInt64, sequence: UInt64) {
        self.milliseconds = milliseconds
        self.sequence = sequence
    }

    /// Parses `<ms>-<seq>` or `<ms>`; anything else is `0-0`.
    public init(_ text: some StringProtocol) {
        let parts = text.split(separator: "-", maxSplits: 1)
        milliseconds = parts.first.flatMap { UInt64($0) } ?? 0
        sequence = parts.count > 1 ? UInt64(parts[1]) ?? 0 : 0
    }

    /// Numeric order: milliseconds first, then the sequence.
    public static func < (a: StreamID, b: StreamID) -> Bool {
        (a.milliseconds, a.sequence) < (b.milliseconds, b.sequence)
    }

    /// `<ms>-<seq>`.
    public var description: String { "\(milliseconds)-\(sequence)" }
}
