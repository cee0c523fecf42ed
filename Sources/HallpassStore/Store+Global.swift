public import HallpassRedis
import HallpassCrypto
public import HallpassJOSE

extension HallpassStore {
    // MARK: Clients

    /// Whether `id` may name a client: 1–64 characters from `a–z A–Z 0–9 . _ -`, not
    /// starting with `-`.
    public static func isValidClientID(_ id: some StringProtocol) -> Bool {
        let utf8 = id.utf8
        guard (1...64).contains(utf8.count), utf8.first != UInt8(ascii: "-") else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }

    /// Registers a client. For a confidential client (`confidential: true`) a secret of 256
    /// random bits is generated and returned once; only its hash is stored. `idTokenAlgorithm`
    /// is what its ID tokens are signed with (`nil`: the primary key's algorithm).
    ///
    /// - Throws: ``StoreError/conflict(_:)`` if the id is taken.
    public func createClient(
        id: String, confidential: Bool, redirectURIs: [String] = [], postLogoutRedirectURIs: [String] = [],
        backchannelLogoutURI: String? = nil, grantTypes: [String], idTokenAlgorithm: JWSAlgorithm? = nil, actor: String
    ) async throws(StoreError) -> (client: ClientRecord, secret: String?) {
        guard Self.isValidClientID(id) else {
            throw .invalidArgument("a client id is 1-64 characters of a-z A-Z 0-9 . _ - and does not start with -")
        }
        for uri in redirectURIs + postLogoutRedirectURIs + [backchannelLogoutURI].compactMap({ $0 })
        where uri.isEmpty || uri.utf8.count > 2048 || uri.contains(" ") {
            throw .invalidArgument("a URI is 1-2048 characters without spaces")
        }
        var secret: String?
        if confidential {
            do { secret = Base32.encode(try SecureRandom.bytes(count: 32)) } catch { throw .failed(.unexpectedReply("\(error)")) }
        }
        let record = ClientRecord(
            id: id, secretHash: secret.map { ClientRecord.hashSecret($0) }, redirectURIs: redirectURIs,
            postLogoutRedirectURIs: postLogoutRedirectURIs, backchannelLogoutURI: backchannelLogoutURI,
            grantTypes: grantTypes, createdAt: clock() / 1000, idTokenAlgorithm: idTokenAlgorithm)
        var fields: [any RedisArgument] = [
            "grants", grantTypes.joined(separator: " "), "redirect", redirectURIs.joined(separator: " "),
            "post_logout", postLogoutRedirectURIs.joined(separator: " "), "bcl", backchannelLogoutURI ?? "",
            "ct", record.createdAt,
        ]
        if let hash = record.secretHash { fields += ["secret", hash] }
        if let idTokenAlgorithm { fields += ["ita", idTokenAlgorithm.rawValue] }
        let written = try await run(
            Scripts.createClient, keys: Self.clientKeys(id) + [StoreSchema.globalEvents],
            arguments: [StoreSchema.globalPrefix, eventsPerStream, id, actor] + fields)
        guard let reply = written.array, reply.first?.int == 1 else { throw .conflict("client \(id) exists") }
        var created = record
        created.notBefore = reply.dropFirst().first?.string.flatMap { Int64($0) } ?? 0
        return (created, secret)
    }

    /// The client `id`, if registered.
    public func client(id: String) async throws(StoreError) -> ClientRecord? {
        guard Self.isValidClientID(id) else { return nil }
        return Self.clientRecord(id: id, hashBytes(try await send(RedisCommand("HGETALL", StoreSchema.client(id)))))
    }

    /// Every registered client, ordered by id.
    public func clients() async throws(StoreError) -> [ClientRecord] {
        let ids = (try await send(RedisCommand("SMEMBERS", StoreSchema.clients))).array?.compactMap(\.string).sorted() ?? []
        guard !ids.isEmpty else { return [] }
        let replies = try await pipeline(ids.map { RedisCommand("HGETALL", StoreSchema.client($0)) })
        return zip(ids, replies).compactMap { Self.clientRecord(id: $0, hashBytes($1)) }
    }

    /// Removes a client and voids every token issued to it so far, its own (client
    /// credentials) and its users' alike, at every validator: the removal raises the client's
    /// watermark (``StoreSchema/clientWatermarks``) and logs `client_tokens_revoked` in the
    /// same script. Its grants in live sessions stop refreshing (the client is unknown).
    /// Returns the watermark (Unix s).
    ///
    /// - Throws: ``StoreError/notFound(_:)`` if there is no such client.
    @discardableResult
    public func removeClient(id: String, actor: String) async throws(StoreError) -> Int64 {
        guard Self.isValidClientID(id) else { throw .notFound("no client \(id)") }
        let now = clock()
        let retention = (Self.maximumAccessTokenLifetime + Self.clockSkewAllowance) * 1000
        let removed = try await run(
            Scripts.removeClient, keys: Self.clientKeys(id) + [StoreSchema.globalEvents],
            arguments: [
                StoreSchema.globalPrefix, eventsPerStream, id, Self.clientWatermark(removedAt: now), (now - retention) / 1000,
                actor,
            ], durable: true)
        guard let watermark = removed.int, watermark > 0 else { throw .notFound("no client \(id)") }
        return watermark
    }

    /// The watermark a client removed at `now` (Unix ms) gets (Unix s).
    ///
    /// A hub caches client records for up to ``maximumClientCacheLifetime``, so for that long
    /// after the removal a hub may still mint tokens for the client from its cached copy; the
    /// watermark covers them, so they are void on arrival. One more second covers the time
    /// between this clock reading and the script running, and small clock differences
    /// between hosts. The alternatives cost more: dropping the cache puts a Redis read on
    /// every token request, and evicting cached records on the `client_removed` event would
    /// void nothing a hub mints before the event reaches it, which nothing bounds.
    static func clientWatermark(removedAt now: Int64) -> Int64 {
        (now + maximumClientCacheLifetime) / 1000 + 1
    }

    /// The keys every change of a client record touches, all under the global tag.
    static func clientKeys(_ id: String) -> [String] {
        [StoreSchema.client(id), StoreSchema.clients, StoreSchema.clientWatermarks]
    }

    static func clientRecord(id: String, _ fields: [String: [UInt8]]) -> ClientRecord? {
        guard let grants = fields["grants"] else { return nil }
        func list(_ name: String) -> [String] {
            String(decoding: fields[name] ?? [], as: UTF8.self).split(separator: " ").map(String.init)
        }
        let backchannel = String(decoding: fields["bcl"] ?? [], as: UTF8.self)
        return ClientRecord(
            id: id, secretHash: fields["secret"], redirectURIs: list("redirect"), postLogoutRedirectURIs: list("post_logout"),
            backchannelLogoutURI: backchannel.isEmpty ? nil : backchannel,
            grantTypes: String(decoding: grants, as: UTF8.self).split(separator: " ").map(String.init),
            createdAt: Int64(String(decoding: fields["ct"] ?? [], as: UTF8.self)) ?? 0,
            notBefore: Int64(String(decoding: fields["nbf"] ?? [], as: UTF8.self)) ?? 0,
            idTokenAlgorithm: fields["ita"].flatMap { JWSAlgorithm(rawValue: String(decoding: $0, as: UTF8.self)) })
    }

    // MARK: Policy

    /// The single-login policy set in Redis for everyone, which overrides the hubs' flag;
    /// `nil` when none is set.
    public func globalSingleLoginPolicy() async throws(StoreError) -> SingleLoginPolicy? {
        (try await send(RedisCommand("HGET", StoreSchema.policy, "single_login"))).string.flatMap(SingleLoginPolicy.init(rawValue:))
    }

    /// Sets the global single-login policy.
    public func setGlobalSingleLoginPolicy(_ policy: SingleLoginPolicy, actor: String) async throws(StoreError) {
        _ = try await run(
            Scripts.writeGlobal, keys: [StoreSchema.policy, StoreSchema.globalEvents],
            arguments: [
                StoreSchema.globalPrefix, eventsPerStream, "policy_changed", actor, "single-login=\(policy.rawValue)", "set",
                "single_login", policy.rawValue,
            ], durable: true)
    }

    // MARK: Signing keys

    /// Every stored signing key, oldest first.
    public func signingKeys() async throws(StoreError) -> [StoredSigningKey] {
        try await readSigningKeys(StoreSchema.signingKeys, "signing key", SigningKeyCodec.decode)
    }

    /// Every signing key's public part, oldest first, from the hash validators may read. The
    /// keys cannot sign: they carry no private key.
    public func publicSigningKeys() async throws(StoreError) -> [StoredSigningKey] {
        try await readSigningKeys(StoreSchema.publicSigningKeys, "public signing key", SigningKeyCodec.decodePublic)
    }

    private func readSigningKeys(
        _ hash: String, _ what: String, _ decode: (String, String) -> StoredSigningKey?
    ) async throws(StoreError) -> [StoredSigningKey] {
        let fields = hashFields(try await send(RedisCommand("HGETALL", hash)))
        var keys: [StoredSigningKey] = []
        for (kid, record) in fields {
            guard let key = decode(kid, record) else { throw .corruptRecord("\(what) \(kid)") }
            keys.append(key)
        }
        return keys.sorted { ($0.createdAt, $0.keyID) < ($1.createdAt, $1.keyID) }
    }

    /// Stores `key` if no signing key exists yet (first start; several hubs may race).
    /// Returns whether it was stored.
    public func addFirstSigningKey(_ key: StoredSigningKey, actor: String) async throws(StoreError) -> Bool {
        try await writeSigningKeys([key], mode: "first", event: "key_added", actor: actor)
    }

    /// Stores or updates signing keys (a rotation writes the new key and the old key's
    /// retirement together).
    public func saveSigningKeys(_ keys: [StoredSigningKey], event: String, actor: String) async throws(StoreError) {
        guard !keys.isEmpty else { return }
        _ = try await writeSigningKeys(keys, mode: "set", event: event, actor: actor)
    }

    /// Writes the public record of every signing key that lacks one (keys stored before public
    /// records existed) and drops public records of keys that are gone, unless the keys change
    /// meanwhile. Hubs call this when they load keys; returns whether anything was written.
    @discardableResult
    public func publishPublicSigningKeys() async throws(StoreError) -> Bool {
        let (records, keys) = try await signingKeyRecords()
        let published = Set(try await publicSigningKeys().map(\.keyID))
        guard published != Set(keys.map(\.keyID)) else { return false }
        return try await updateSigningKeys(expected: records, delete: [], write: keys, event: "", actor: "hub", detail: "")
    }

    private func writeSigningKeys(_ keys: [StoredSigningKey], mode: String, event: String, actor: String) async throws(StoreError) -> Bool {
        var arguments: [any RedisArgument] = [
            StoreSchema.globalPrefix, eventsPerStream, event, actor, keys.map(\.keyID).joined(separator: " "), mode,
        ]
        for key in keys { arguments += [key.keyID, SigningKeyCodec.encode(key), SigningKeyCodec.encodePublic(key)] }
        let written = try await run(
            Scripts.writeSigningKeys, keys: [StoreSchema.signingKeys, StoreSchema.publicSigningKeys, StoreSchema.globalEvents],
            arguments: arguments)
        return written.int == 1
    }

    // MARK: Login throttling

    /// Reserves a login attempt for `username` from `address`, or returns how long the caller
    /// must wait (ms). A reserved attempt counts as failed until ``releaseLoginAttempt(username:address:)``.
    ///
    /// Counting the attempt before the password is checked, in one script, is what makes the
    /// limit hold under concurrency: fifty parallel guesses cannot all pass the check first.
    public func reserveLoginAttempt(username: String, address: String, limits: LoginThrottle) async throws(StoreError) -> Int64? {
        let reply = try await run(
            Scripts.reserveLoginAttempt, keys: throttleKeys(username: username, address: address),
            arguments: [StoreSchema.globalPrefix, limits.perUsername, limits.perAddress, limits.window * 1000])
        guard let items = reply.array, items.count == 2, let allowed = items[0].int else {
            throw .failed(.unexpectedReply("\(reply)"))
        }
        return allowed == 1 ? nil : max(1, items[1].int ?? 1000)
    }

    /// Takes back a reserved attempt whose password was right.
    public func releaseLoginAttempt(username: String, address: String) async throws(StoreError) {
        _ = try await run(
            Scripts.releaseLoginAttempt, keys: throttleKeys(username: username, address: address),
            arguments: [StoreSchema.globalPrefix])
    }

    func throttleKeys(username: String, address: String) -> [String] {
        // Digests keep attacker-chosen bytes out of key names and bound their length.
        [
            StoreSchema.throttle("u", hexString(Digest.sha256(Array(Self.normalizedUsername(username).utf8)).prefix(16))),
            StoreSchema.throttle("ip", hexString(Digest.sha256(Array(address.utf8)).prefix(16))),
        ]
    }

    // MARK: Events

    /// Logs an event that changes nothing else (a failed login), in the user's shard when the
    /// user is known and in the global stream otherwise.
    public func appendEvent(
        _ type: String, user: String = "", session: String = "", client: String = "", actor: String, detail: String = ""
    ) async throws(StoreError) {
        let prefix = StoreSchema.prefix(of: user).flatMap { Identifiers.isWellFormed(user) ? $0 : nil } ?? StoreSchema.globalPrefix
        _ = try await run(
            Scripts.appendEvent, keys: [StoreSchema.events(prefix: prefix)],
            arguments: [prefix, eventsPerStream, type, user, session, client, actor, detail])
    }

    /// The most recent `count` events across every stream, oldest first.
    public func recentEvents(count: Int) async throws(StoreError) -> [StoreEvent] {
        let streams = StoreSchema.eventStreams
        let replies = try await pipeline(streams.map { RedisCommand("XREVRANGE", $0, "+", "-", "COUNT", count) })
        var events: [StoreEvent] = []
        for (stream, reply) in zip(streams, replies) {
            events += Self.streamEntries(reply, stream: stream)
        }
        events.sort { Self.streamOrder($0.id, $1.id) }
        return Array(events.suffix(count))
    }

    /// The id of the newest entry of each of `streams` (every event stream by default; `0-0`
    /// for an empty one): where a reader that wants only what happens from now on starts
    /// ``readEvents(on:streams:after:count:block:)``.
    public func eventStreamPositions(_ streams: [String] = StoreSchema.eventStreams) async throws(StoreError) -> [String: String] {
        let replies = try await pipeline(streams.map { RedisCommand("XREVRANGE", $0, "+", "-", "COUNT", 1) })
        var positions: [String: String] = [:]
        for (stream, reply) in zip(streams, replies) {
            positions[stream] = Self.streamEntries(reply, stream: stream).first?.id ?? "0-0"
        }
        return positions
    }

    /// Whether stream id `a` comes before `b` (`<ms>-<seq>`, compared as numbers).
    public static func streamID(_ a: String, precedes b: String) -> Bool { streamOrder(a, b) }

    /// Events after the given stream positions (`id` per stream; `0` or absent for the
    /// beginning), waiting up to `block` milliseconds for the first when none are pending. Run
    /// it on a dedicated connection (``HallpassRedis/RedisClient/makeDedicatedConnection()``)
    /// when blocking.
    public static func readEvents(
        on connection: RedisConnection, streams: [String] = StoreSchema.eventStreams, after positions: [String: String], count: Int,
        block: Int64?
    ) async throws(StoreError) -> [StoreEvent] {
        var arguments: [any RedisArgument] = ["COUNT", count]
        if let block { arguments += ["BLOCK", block] }
        arguments.append("STREAMS")
        arguments += streams
        arguments += streams.map { positions[$0] ?? "0" }
        let reply: RedisValue
        do {
            reply = try await connection.send(RedisCommand("XREAD", arguments: arguments), timeout: .milliseconds((block ?? 0) + 5000))
        } catch {
            throw StoreError(error)
        }
        var events: [StoreEvent] = []
        for entry in reply.array ?? [] {
            guard let pair = entry.array, pair.count == 2, let stream = pair[0].string else { continue }
            events += streamEntries(pair[1], stream: stream)
        }
        events.sort { streamOrder($0.id, $1.id) }
        return events
    }

    static func streamEntries(_ reply: RedisValue, stream: String) -> [StoreEvent] {
        (reply.array ?? []).compactMap { entry in
            guard let pair = entry.array, pair.count == 2, let id = pair[0].string else { return nil }
            let fields = hashFields(pair[1])
            return StoreEvent(
                id: id, stream: stream, type: fields["type"] ?? "", user: fields["user"] ?? "",
                session: fields["sid"] ?? "", client: fields["client"] ?? "", actor: fields["actor"] ?? "",
                detail: fields["detail"] ?? "")
        }
    }

    /// Orders stream ids `<ms>-<seq>` numerically.
    static func streamOrder(_ a: String, _ b: String) -> Bool {
        func parts(_ id: String) -> (Int64, Int64) {
            let split = id.split(separator: "-")
            return (split.first.flatMap { Int64($0) } ?? 0, split.count > 1 ? Int64(split[1]) ?? 0 : 0)
        }
        return parts(a) < parts(b)
    }
}

/// Limits on login attempts, shared by every hub through Redis.
public struct LoginThrottle: Sendable, Hashable {
    /// Failed attempts allowed per username within ``window``.
    public var perUsername: Int
    /// Failed attempts allowed per client address within ``window``.
    public var perAddress: Int
    /// The counting window (s); a lockout lasts until the window that started with the first
    /// failure ends.
    public var window: Int64

    /// Limits; defaults: 5 per username, 50 per address, in 5 minutes.
    public init(perUsername: Int = 5, perAddress: Int = 50, window: Int64 = 300) {
        self.perUsername = perUsername
        self.perAddress = perAddress
        self.window = window
    }
}
