import HallpassRedis
public import HallpassJOSE

/// Where a signing key is in its life at one moment.
public enum SigningKeyState: String, Sendable, Hashable {
    /// Announced in JWKS, not signing yet (its activation time has not come).
    case next
    /// Signing new tokens.
    case active
    /// No longer signing (a later key took over, or will at its activation), still published
    /// until every token it signed has expired.
    case retiring
    /// Past its retirement: no longer published; deleted from the store at the next change.
    case retired
}

extension StoredSigningKey {
    /// The key's state at `now` (Unix s) among `keys` (the full stored set, itself included),
    /// within its own chain: the signer is the key ``SigningKeySet`` picks for the chain.
    public func state(at now: Int64, among keys: [StoredSigningKey]) -> SigningKeyState {
        guard isPublished(at: now) else { return .retired }
        if activatesAt > now { return .next }
        return SigningKeySet.signingKey(in: keys, at: now, chain: chain)?.keyID == keyID ? .active : .retiring
    }
}

extension SigningKeySet {
    /// The key that signs access tokens at `now`: the primary chain's signer.
    public static func signingKey(in keys: [StoredSigningKey], at now: Int64) -> StoredSigningKey? {
        signingKey(in: keys, at: now, chain: .primary)
    }

    /// The key of `chain` that signs at `now`: the most recently activated published key of
    /// the chain whose activation time has come.
    public static func signingKey(in keys: [StoredSigningKey], at now: Int64, chain: SigningKeyChain) -> StoredSigningKey? {
        keys.filter { $0.chain == chain && $0.isPublished(at: now) && $0.activatesAt <= now }
            .max { ($0.activatesAt, $0.createdAt, $0.keyID) < ($1.activatesAt, $1.createdAt, $1.keyID) }
    }
}

/// What ``HallpassStore/rotateSigningKeys(adding:actor:)`` did.
public struct SigningKeyRotation: Sendable, Hashable {
    /// The new key, as stored (its activation may have moved a second later, see there).
    public var added: StoredSigningKey
    /// Keys that got a retirement time now, with it set.
    public var retiring: [StoredSigningKey]
    /// Keys deleted: retired ones, and announced ones the new key supersedes before they signed.
    public var deleted: [String]
}

/// What ``HallpassStore/withdrawSigningKey(_:replacement:actor:)`` did.
public struct SigningKeyWithdrawal: Sendable, Hashable {
    /// The key withdrawn, as it was stored.
    public var withdrawn: StoredSigningKey
    /// The key that signs in its place from now on, when the withdrawn key was the signer.
    public var replacement: StoredSigningKey?
}

extension HallpassStore {
    /// The event type written when signing keys are rotated; validators reload their keys on it.
    public static let keyRotatedEvent = "key_rotated"
    /// The event type written when retired signing keys are deleted.
    public static let keyDeletedEvent = "key_deleted"
    /// The event type written when a signing key is withdrawn before its time.
    public static let keyWithdrawnEvent = "key_withdrawn"

    /// Whether withdrawing `keyID` at `now` (Unix s) needs a replacement key: it is the key
    /// signing now in its chain, and no token may be signed with it again.
    public static func withdrawalNeedsReplacement(_ keyID: String, in keys: [StoredSigningKey], at now: Int64) -> Bool {
        guard let key = keys.first(where: { $0.keyID == keyID }) else { return false }
        return SigningKeySet.signingKey(in: keys, at: now, chain: key.chain)?.keyID == keyID
    }

    /// Withdraws signing key `keyID` at once, for a key that may have leaked: it leaves JWKS
    /// and the store in one atomic script with the ``keyWithdrawnEvent`` event, on which
    /// validators reload their keys, so every token it signed stops verifying within
    /// milliseconds instead of at its expiry. Hubs stop signing with it at their next key
    /// reload (a second).
    ///
    /// When it is the key signing now in its chain, `replacement` takes over at once (its
    /// activation is set to now; it must belong to the same chain): no key that was only
    /// announced, or that is retiring, is promoted, since a retiring key's retirement was
    /// timed for tokens it signed before.
    ///
    /// - Throws: ``StoreError/notFound(_:)`` if no such key is stored;
    ///   ``StoreError/invalidArgument(_:)`` if it signs now and `replacement` is `nil` or of
    ///   another chain;
    ///   ``StoreError/conflict(_:)`` if the keys kept changing underneath after three tries.
    public func withdrawSigningKey(
        _ keyID: String, replacement: StoredSigningKey?, actor: String
    ) async throws(StoreError) -> SigningKeyWithdrawal {
        for _ in 0..<3 {
            let (records, keys) = try await signingKeyRecords()
            guard let withdrawn = keys.first(where: { $0.keyID == keyID }) else { throw .notFound("no signing key \(keyID)") }
            let now = clock() / 1000
            var added: StoredSigningKey?
            if Self.withdrawalNeedsReplacement(keyID, in: keys, at: now) {
                guard var key = replacement else {
                    throw .invalidArgument("\(keyID) is the key signing now: withdrawing it needs a replacement key")
                }
                guard key.chain == withdrawn.chain else {
                    throw .invalidArgument("the replacement of \(keyID) must be a key of its chain (\(withdrawn.chain))")
                }
                key.activatesAt = now
                key.retiresAt = nil
                added = key
            }
            let detail = "kid=\(keyID)" + (added.map { " replacement=\($0.keyID) alg=\($0.algorithm)" } ?? "")
            if try await updateSigningKeys(
                expected: records, delete: [keyID], write: added.map { [$0] } ?? [], event: Self.keyWithdrawnEvent, actor: actor,
                detail: detail, durable: true)
            {
                return SigningKeyWithdrawal(withdrawn: withdrawn, replacement: added)
            }
        }
        throw .conflict("the signing keys changed during the withdrawal (a rotation at the same time?); try again")
    }

    /// How long after a key stops signing it stays published: the longest access-token
    /// lifetime plus the clock skew validators allow (s).
    public static var keyRetirementDelay: Int64 { maximumAccessTokenLifetime + clockSkewAllowance }

    /// Rotates `newKey`'s chain (``StoredSigningKey/chain``): stores `newKey`, which is
    /// published at once and signs from its activation time, and schedules the retirement of
    /// every key of the chain that has none yet at the new key's activation +
    /// ``keyRetirementDelay``, so each stays published until every token it can still sign has
    /// expired. Keys already retired are deleted; announced keys of the chain that would
    /// activate after `newKey` never signed anything and are deleted too (so `--activate-now`
    /// wins over an earlier delayed rotation). Other chains are left as they are. One atomic
    /// script, with the ``keyRotatedEvent`` event.
    ///
    /// The new key's activation is moved one second past the latest existing activation if it
    /// is not already later, so the signer is never a tie.
    ///
    /// - Throws: ``StoreError/conflict(_:)`` if the keys kept changing underneath (another
    ///   rotation at the same moment) after three tries.
    public func rotateSigningKeys(adding newKey: StoredSigningKey, actor: String) async throws(StoreError) -> SigningKeyRotation {
        for _ in 0..<3 {
            let (records, keys) = try await signingKeyRecords()
            let now = clock() / 1000
            var added = newKey
            added.retiresAt = nil
            // A published key activating in the same second as the new one would tie the signer.
            let notLater = keys.filter { $0.chain == added.chain && $0.isPublished(at: now) && $0.activatesAt <= added.activatesAt }
            if let latest = notLater.map(\.activatesAt).max(), latest >= added.activatesAt {
                added.activatesAt = latest + 1
            }
            let retireAt = added.activatesAt + Self.keyRetirementDelay
            var retiring: [StoredSigningKey] = []
            var deleted: [String] = []
            for key in keys where key.keyID != added.keyID {
                if !key.isPublished(at: now) {
                    deleted.append(key.keyID)
                    continue
                }
                guard key.chain == added.chain else { continue }
                if key.activatesAt > now && key.activatesAt > added.activatesAt {
                    deleted.append(key.keyID)
                } else if key.retiresAt == nil {
                    var scheduled = key
                    scheduled.retiresAt = retireAt
                    retiring.append(scheduled)
                }
            }
            let detail = "kid=\(added.keyID) alg=\(added.algorithm) use=\(added.use.rawValue) activates=\(added.activatesAt)"
                + (retiring.isEmpty ? "" : " retiring=\(retiring.map(\.keyID).joined(separator: ","))")
                + (deleted.isEmpty ? "" : " deleted=\(deleted.joined(separator: ","))")
            if try await updateSigningKeys(
                expected: records, delete: deleted, write: retiring + [added], event: Self.keyRotatedEvent, actor: actor, detail: detail,
                durable: true)
            {
                return SigningKeyRotation(added: added, retiring: retiring, deleted: deleted)
            }
        }
        throw .conflict("the signing keys changed during the rotation (another rotation at the same time?); try again")
    }

    /// The ID-token chains without a signer at `now` among `keys`: the algorithms a hub must
    /// generate a key for (see ``addIDTokenSigningKeys(_:actor:)``).
    public static func idTokenChainsWithoutSigner(in keys: [StoredSigningKey], at now: Int64) -> [JWSAlgorithm] {
        JWSAlgorithm.allCases.filter { SigningKeySet.signingKey(in: keys, at: now, chain: .idToken($0.rawValue)) == nil }
    }

    /// Stores `candidates` (ID-token keys, one per algorithm) for the chains that still have
    /// no signer, in one compare-and-set script with the `key_added` event, unless the keys
    /// changed underneath (another hub doing the same at the same moment): then nothing is
    /// written and the caller reloads. Returns the keys stored.
    @discardableResult
    public func addIDTokenSigningKeys(_ candidates: [StoredSigningKey], actor: String) async throws(StoreError) -> [StoredSigningKey] {
        let (records, keys) = try await signingKeyRecords()
        let missing = Set(Self.idTokenChainsWithoutSigner(in: keys, at: clock() / 1000).map(\.rawValue))
        let added = candidates.filter { $0.use == .idToken && missing.contains($0.algorithm) }
        guard !added.isEmpty else { return [] }
        let detail = "kid=\(added.map(\.keyID).joined(separator: ",")) use=id_token alg=\(added.map(\.algorithm).joined(separator: ","))"
        let done = try await updateSigningKeys(
            expected: records, delete: [], write: added, event: StoreEventType.keyAdded, actor: actor, detail: detail)
        return done ? added : []
    }

    /// Deletes the keys whose retirement time has passed (hubs call this as they reload).
    /// Returns the deleted key ids; empty if there were none, or if the keys changed meanwhile.
    @discardableResult
    public func deleteRetiredSigningKeys(actor: String) async throws(StoreError) -> [String] {
        let (records, keys) = try await signingKeyRecords()
        let now = clock() / 1000
        let retired = keys.filter { !$0.isPublished(at: now) }.map(\.keyID)
        guard !retired.isEmpty else { return [] }
        let done = try await updateSigningKeys(
            expected: records, delete: retired, write: [], event: Self.keyDeletedEvent, actor: actor,
            detail: "kid=\(retired.joined(separator: ","))")
        return done ? retired : []
    }

    /// The stored records as text (for the compare-and-set) and decoded.
    func signingKeyRecords() async throws(StoreError) -> ([String: String], [StoredSigningKey]) {
        let records = hashFields(try await send(RedisCommand("HGETALL", StoreSchema.signingKeys)))
        var keys: [StoredSigningKey] = []
        for (kid, record) in records {
            guard let key = SigningKeyCodec.decode(kid: kid, record) else { throw .corruptRecord("signing key \(kid)") }
            keys.append(key)
        }
        return (records, keys.sorted { ($0.createdAt, $0.keyID) < ($1.createdAt, $1.keyID) })
    }

    func updateSigningKeys(
        expected: [String: String], delete: [String], write: [StoredSigningKey], event: String, actor: String, detail: String,
        durable: Bool = false
    ) async throws(StoreError) -> Bool {
        var arguments: [any RedisArgument] = [StoreSchema.globalPrefix, eventsPerStream, event, actor, detail, expected.count]
        for (kid, record) in expected { arguments += [kid, record] }
        arguments.append(delete.count)
        arguments += delete
        for key in write { arguments += [key.keyID, SigningKeyCodec.encode(key), SigningKeyCodec.encodePublic(key)] }
        let reply = try await run(
            Scripts.updateSigningKeys, keys: [StoreSchema.signingKeys, StoreSchema.publicSigningKeys, StoreSchema.globalEvents],
            arguments: arguments, durable: durable)
        return reply.int == 1
    }
}
