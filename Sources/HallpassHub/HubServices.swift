import HallpassJOSE
import HallpassStore
import Logging

/// What every endpoint shares: configuration, the store, keys, password hashing, metrics.
final class HubServices: Sendable {
    let configuration: HubConfiguration
    let store: HallpassStore
    let keyRing: KeyRing
    let passwords: PasswordVerifier
    let clients: ClientCache
    let authenticator: ClientAuthenticator
    let minter: TokenMinter
    let metrics: HubMetrics
    let logger: Logger

    init(configuration: HubConfiguration, store: HallpassStore, passwords: PasswordVerifier, metrics: HubMetrics, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.keyRing = KeyRing(store: store, configuration: configuration, logger: logger)
        self.passwords = passwords
        // Capped: a client's removal voids tokens for only this long after it (see
        // `HallpassStore.removeClient`), so a longer cache would mint live tokens for a removed client.
        self.clients = ClientCache(store: store, lifetime: min(configuration.clientCacheLifetime, HallpassStore.maximumClientCacheLifetime))
        self.authenticator = ClientAuthenticator(cache: clients)
        self.minter = TokenMinter(issuer: configuration.issuer, lifetime: configuration.accessTokenLifetime)
        self.metrics = metrics
        self.logger = logger
    }

    /// The keys, or 503 while none are loaded.
    func keys() throws -> KeyRing.Snapshot {
        guard let snapshot = keyRing.snapshot else { throw OAuthError.signingUnavailable }
        return snapshot
    }

    /// The signer for new tokens, or 503 while there is none: the keys are not loaded yet, or
    /// the active key does not unseal with this hub's key-encryption key. Grants call this
    /// before changing anything, so a hub that cannot answer with tokens starts no session
    /// (which could end the user's others) and rotates no refresh token.
    func signer() throws -> JWTSigner {
        guard let signer = try keys().keys.signer else { throw OAuthError.signingUnavailable }
        return signer
    }

    /// The signer of `client`'s ID tokens: the ID-token key of the algorithm it registered
    /// (`--id-token-alg`), made on first need (see ``KeyRing/idTokenSigner(creatingFor:)``),
    /// else the primary signer; 503 while there is none. Grants call this before changing
    /// anything, like ``signer()``.
    func idTokenSigner(for client: ClientRecord) async throws -> JWTSigner {
        guard let algorithm = client.idTokenAlgorithm else { return try signer() }
        if let signer = try keys().keys.idTokenSigners[algorithm] { return signer }
        return try await keyRing.idTokenSigner(creatingFor: algorithm)
    }

    /// Verifies an access token this hub issued (for any client) and checks it against the
    /// revocation state. Returns `nil` for anything invalid, expired or revoked.
    func liveAccessToken(_ token: String) async throws -> VerifiedJWT? {
        let snapshot = try keys()
        guard let verified = try? snapshot.validate(token),
            let facts = Self.facts(of: verified)
        else { return nil }
        return try await store.isRevoked(facts) ? nil : verified
    }

    /// What revocation can void of an access token this hub issued; `nil` when a claim it
    /// needs is missing. A token without `sid` is a client's own (client credentials grant)
    /// only when its `sub` is its `client_id` (RFC 9068 section 2.2): a user's token always has
    /// a session.
    static func facts(of token: VerifiedJWT) -> AccessTokenFacts? {
        let claims = token.claims
        guard let jti = claims.tokenID, let sub = claims.subject,
            let client = claims["client_id"]?.stringValue, let iat = claims["iat"]?.integerValue
        else { return nil }
        let sid = claims["sid"]?.stringValue
        if claims["sid"] != nil, sid == nil { return nil }
        if sid == nil, sub != client { return nil }
        return AccessTokenFacts(tokenID: jti, sessionID: sid, userID: sub, clientID: client, issuedAt: iat)
    }

    /// Unix seconds.
    var now: Int64 { store.clock() / 1000 }
}
