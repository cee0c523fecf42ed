/// The Redis key schema: every key Hallpass writes is named here and nowhere else.
///
/// Every key of one user (the user record, their session index, their sessions and the
/// revocation records and event stream those sessions write to) carries the same hash tag, so
/// on a Redis Cluster they share one hash slot and each multi-key change stays one atomic
/// script. Users are spread over ``shardCount`` tags by the first character of their id; the
/// ids of a user's sessions begin with the same character, so a session id alone names its
/// shard. Everything not owned by one user (usernames, clients, signing keys, policy, revoked
/// access-token ids, login throttles) lives under the global tag.
///
/// ```
/// hp:{hN}:u:<uid>      hash   user: username, name, email, PHC hash, disabled, policy, nbf
/// hp:{hN}:us:<uid>     zset   the user's sessions, scored by absolute expiry (ms)
/// hp:{hN}:s:<sid>      hash   one session and its grants, expiring when the session does
///                             (field hc: hash of the hub browser cookie's secret)
/// hp:{hN}:ac:<digest>  hash   an authorization code (digest = hex SHA-256 of the code), ≤ 60 s
/// hp:{hN}:rs           zset   ended sessions, scored by when their last token expires (ms)
/// hp:{hN}:rg           zset   revoked grants "<sid> <client> <revokedAt>", same scoring
/// hp:{hN}:nbf          zset   per-user "not before" watermarks (s), trimmed as they lapse
/// hp:{hN}:ev           stream the shard's events (bounded)
/// hp:{hN}:sx           zset   live sessions, scored by when they end unless refreshed (ms)
/// hp:{hN}:sm           hash   sid -> "<uid> <abs> <client>...": what the expiry sweeper needs
/// hp:{hN}:bq           zset   back-channel logout deliveries "<sid> <client>", by next attempt (ms)
/// hp:{hN}:bl:<sid>     hash   delivery status of an ended session's logouts (48 h)
/// hp:{hg}:names        hash   lowercased username -> uid
/// hp:{hg}:c:<client>   hash   client registration
/// hp:{hg}:clients      set    client ids
/// hp:{hg}:keys         hash   kid -> signing key record (JSON, private key sealed)
/// hp:{hg}:pubkeys      hash   kid -> the same record without the private key (for validators)
/// hp:{hg}:policy       hash   global policy overrides set by the ops CLI
/// hp:{hg}:rj           zset   revoked access-token ids, scored by the token's expiry + skew (ms)
/// hp:{hg}:cnbf         zset   per-client "not before" watermarks (s) of removed clients,
///                             trimmed as they lapse
/// hp:{hg}:th:<kind>:<digest> string  login throttle counters (kind uc: wrong device user codes)
/// hp:{hg}:dc:<digest>  hash   a device authorization (RFC 8628; digest = hex SHA-256 of the
///                             device code), kept a while past its expiry to answer expired_token
/// hp:{hg}:uc:<digest>  string the device authorization a user code names (digest of the code),
///                             living exactly as long as the code; deleted once decided
/// hp:{hg}:ev           stream global events (clients, keys, policy, token revocations)
/// hp:{hg}:hubs         hash   hub instance id -> "<applied global event id> <heartbeat ms>"
/// hp:{…}:df            string durability fence: written after each security write, so that
///                             `WAIT` covers all its slot held (see StoreDurability)
/// ```
public enum StoreSchema {
    /// How many user shards (hash tags) there are.
    public static let shardCount = 16

    /// The key prefix of one shard: `hp:{hN}:`.
    public static func shardPrefix(_ shard: Int) -> String {
        "hp:{h\(String(shard, radix: 16))}:"
    }

    /// The key prefix for global keys.
    public static let globalPrefix = "hp:{hg}:"

    /// The durability fence of the hash slot `key` lives in: `hp:{tag}:df`, for any key of the
    /// schema (all of which begin `hp:{tag}:`).
    static func durabilityFence(forKey key: String) -> String {
        guard let close = key.firstIndex(of: "}") else { return globalPrefix + "df" }
        return key[...close] + ":df"
    }

    /// The shard an identifier belongs to, from its first character; `nil` for an identifier
    /// that is not one of ours (not lowercase base32).
    public static func shard(of identifier: some StringProtocol) -> Int? {
        guard let first = identifier.utf8.first, let index = Identifiers.alphabetIndex(first) else { return nil }
        return index % shardCount
    }

    /// The prefix of the shard `identifier` belongs to.
    static func prefix(of identifier: some StringProtocol) -> String? {
        shard(of: identifier).map(shardPrefix)
    }

    /// Every event stream, shards first, then the global one.
    public static var eventStreams: [String] {
        (0..<shardCount).map { shardPrefix($0) + "ev" } + [globalPrefix + "ev"]
    }

    /// Every stream of ended sessions, one per shard.
    public static var endedSessionSets: [String] { (0..<shardCount).map { shardPrefix($0) + "rs" } }
    /// Every set of revoked grants, one per shard.
    public static var revokedGrantSets: [String] { (0..<shardCount).map { shardPrefix($0) + "rg" } }
    /// Every set of user watermarks, one per shard.
    public static var notBeforeSets: [String] { (0..<shardCount).map { shardPrefix($0) + "nbf" } }
    /// The set of revoked access-token ids.
    public static let revokedTokenIDs = globalPrefix + "rj"
    /// The clients' "not before" watermarks (Unix s): every token issued to the client at or
    /// before its watermark is void, user tokens included. Global, not per shard: a client's
    /// tokens span every user's shard, and removing a client is rare.
    public static let clientWatermarks = globalPrefix + "cnbf"

    /// The Redis 7 ACL rules of the validators' user: read-only access to the revocation
    /// records, the event streams and the public signing keys, and only the commands a
    /// validator sends (`XREAD`, `XREVRANGE`, `XINFO STREAM`, `ZRANGE`, `HGETALL`, `PING`,
    /// `SELECT`; on a cluster also `CLUSTER SHARDS` to find the masters and `ASKING` to follow a
    /// slot in migration). No write command, no other key: not the hash of private keys, sealed or not.
    /// Use as `ACL SETUSER <name> on ><password> <rules>`.
    ///
    /// The per-shard patterns match one character of tag (`{h?}`: the 16 shards are `{h0}` to
    /// `{hf}`, see ``shardPrefix(_:)``) rather than `*`: `hp:*:rs` also matched the client hash
    /// `hp:{hg}:c:rs` of a client named `rs` (or `rg`, `nbf`, `ev`), whose secret hash the
    /// validator has no business reading.
    public static let validatorACLRules =
        "resetkeys resetchannels -@all +ping +select +xread +xrevrange +xinfo|stream +zrange +hgetall +cluster|shards +asking"
        + " %R~hp:{h?}:rs %R~hp:{h?}:rg %R~hp:{h?}:nbf %R~hp:{h?}:ev %R~hp:{hg}:rj %R~hp:{hg}:cnbf %R~hp:{hg}:pubkeys"

    static func user(_ uid: String, prefix: String) -> String { prefix + "u:" + uid }
    static func userSessions(_ uid: String, prefix: String) -> String { prefix + "us:" + uid }
    static func session(_ sid: String, prefix: String) -> String { prefix + "s:" + sid }
    static func authorizationCode(_ digest: String, prefix: String) -> String { prefix + "ac:" + digest }
    static func endedSessions(prefix: String) -> String { prefix + "rs" }
    static func revokedGrants(prefix: String) -> String { prefix + "rg" }
    static func notBefore(prefix: String) -> String { prefix + "nbf" }
    static func events(prefix: String) -> String { prefix + "ev" }
    static func sessionDeadlines(prefix: String) -> String { prefix + "sx" }
    static func sessionFacts(prefix: String) -> String { prefix + "sm" }
    static func logoutQueue(prefix: String) -> String { prefix + "bq" }
    static func logoutStatus(_ sid: String, prefix: String) -> String { prefix + "bl:" + sid }
    static func recoveryCodes(_ uid: String, prefix: String) -> String { prefix + "rc:" + uid }
    static func pendingEnrollment(_ uid: String, prefix: String) -> String { prefix + "tfe:" + uid }
    static func pendingSignIn(_ digest: String, prefix: String) -> String { prefix + "psi:" + digest }

    /// The keys of a shard that ending a session or revoking a grant touches besides the
    /// session's own: events, deadlines, session facts, ended sessions, revoked grants and the
    /// logout queue.
    static func shardKeys(prefix: String) -> [String] {
        [
            events(prefix: prefix), sessionDeadlines(prefix: prefix), sessionFacts(prefix: prefix),
            endedSessions(prefix: prefix), revokedGrants(prefix: prefix), logoutQueue(prefix: prefix),
        ]
    }

    /// The keys a script about session `sid` declares: the session first, its logout status,
    /// ``shardKeys(prefix:)``, and when `userID` is known (the session's user, read first) the
    /// user and their session index. A script may end the session, so it may touch them all.
    static func sessionKeys(_ sid: String, userID: String?, prefix: String) -> [String] {
        var keys = [session(sid, prefix: prefix), logoutStatus(sid, prefix: prefix)] + shardKeys(prefix: prefix)
        if let userID { keys += [user(userID, prefix: prefix), userSessions(userID, prefix: prefix)] }
        return keys
    }

    /// A session and its logout status, for each of `sids`: what a script that may end them declares.
    static func sessionsAndLogoutStatus(_ sids: some Sequence<String>, prefix: String) -> [String] {
        sids.flatMap { [session($0, prefix: prefix), logoutStatus($0, prefix: prefix)] }
    }

    static let usernames = globalPrefix + "names"
    static let clients = globalPrefix + "clients"
    static func client(_ id: String) -> String { globalPrefix + "c:" + id }
    static let signingKeys = globalPrefix + "keys"
    static let publicSigningKeys = globalPrefix + "pubkeys"
    static let policy = globalPrefix + "policy"
    /// Which global event each running hub has applied to its caches, and when it last said so.
    static let hubs = globalPrefix + "hubs"
    /// The global event stream: changes of clients, signing keys and global policy, and
    /// revoked access tokens. Hubs tail it alone to keep their caches of global records current.
    public static let globalEvents = globalPrefix + "ev"
    static func throttle(_ kind: String, _ digest: String) -> String { globalPrefix + "th:" + kind + ":" + digest }
    static func deviceAuthorization(_ digest: String) -> String { globalPrefix + "dc:" + digest }
    static func userCode(_ digest: String) -> String { globalPrefix + "uc:" + digest }
}
