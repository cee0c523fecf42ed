import HallpassCrypto
public import HallpassJOSE

/// What happens when a user who already has a live session logs in again.
public enum SingleLoginPolicy: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The new login ends the user's other sessions at once.
    case newestWins = "newest-wins"
    /// The new login is refused with `session_exists` while another session is live.
    case denyNew = "deny-new"
    /// Any number of sessions.
    case off

    public var description: String { rawValue }
}

/// A user account.
public struct UserRecord: Sendable, Hashable {
    /// The stable id: the access token's `sub`.
    public var id: String
    /// The login name as given when the user was created.
    public var username: String
    /// Display name, possibly empty.
    public var name: String
    /// E-mail address, possibly empty.
    public var email: String
    /// The Argon2id PHC string.
    public var passwordHash: String
    /// Whether logins and refreshes are refused.
    public var isDisabled: Bool
    /// The per-user single-login policy, overriding the global one.
    public var singleLoginPolicy: SingleLoginPolicy?
    /// Tokens issued at or before this Unix time (s) are void.
    public var notBefore: Int64
    /// When the user was created (Unix s).
    public var createdAt: Int64
    /// Whether an administrator vouched for ``email`` (`users add --email-verified`): the ID
    /// token's and UserInfo's `email_verified`. Hallpass sends no verification mail itself,
    /// so an address nobody vouched for is reported as unverified.
    public var emailVerified: Bool = false
    /// Whether the user has a second factor (TOTP); the secret itself is read only where a
    /// code is checked (``HallpassStore/secondFactor(ofUser:)``).
    public var hasSecondFactor: Bool = false
    /// The user's own second-factor policy, overriding the global one.
    public var secondFactorPolicy: SecondFactorPolicy?
}

/// A registered client (a member app or an API client).
public struct ClientRecord: Sendable, Hashable {
    /// The `client_id`.
    public var id: String
    /// SHA-256 of the client secret; `nil` for a public client.
    ///
    /// Secrets are 256 random bits that Hallpass generates, so a fast hash is enough: there is
    /// nothing to brute-force, and a slow hash would only slow every token request.
    public var secretHash: [UInt8]?
    /// Registered redirect URIs (authorization code flow).
    public var redirectURIs: [String]
    /// Registered post-logout redirect URIs.
    public var postLogoutRedirectURIs: [String]
    /// Where back-channel logout tokens go, if anywhere.
    public var backchannelLogoutURI: String?
    /// Grant types the client may use.
    public var grantTypes: [String]
    /// When the client was registered (Unix s).
    public var createdAt: Int64
    /// The algorithm the client's ID tokens are signed with (`clients add --id-token-alg`;
    /// OIDC Dynamic Client Registration's `id_token_signed_response_alg`); `nil`: the hub's
    /// primary key's, like its access tokens.
    public var idTokenAlgorithm: JWSAlgorithm?
    /// The watermark (Unix s) an earlier client of the same id left when it was removed, if
    /// it had not lapsed yet; 0 otherwise. Tokens issued to this id at or before it are void,
    /// so tokens for this client must be issued after it.
    public var notBefore: Int64

    /// A client record.
    public init(
        id: String, secretHash: [UInt8]?, redirectURIs: [String] = [], postLogoutRedirectURIs: [String] = [],
        backchannelLogoutURI: String? = nil, grantTypes: [String], createdAt: Int64, notBefore: Int64 = 0,
        idTokenAlgorithm: JWSAlgorithm? = nil
    ) {
        self.id = id
        self.secretHash = secretHash
        self.redirectURIs = redirectURIs
        self.postLogoutRedirectURIs = postLogoutRedirectURIs
        self.backchannelLogoutURI = backchannelLogoutURI
        self.grantTypes = grantTypes
        self.createdAt = createdAt
        self.idTokenAlgorithm = idTokenAlgorithm
        self.notBefore = notBefore
    }

    /// Whether the client authenticates with a secret.
    public var isConfidential: Bool { secretHash != nil }

    /// Whether `secret` is this client's secret, compared in constant time.
    public func verifySecret(_ secret: some StringProtocol) -> Bool {
        guard let secretHash else { return false }
        return ConstantTime.equals(Self.hashSecret(secret), secretHash)
    }

    /// The stored form of a client secret.
    public static func hashSecret(_ secret: some StringProtocol) -> [UInt8] {
        Digest.sha256(Array("hallpass client secret v1|".utf8) + Array(secret.utf8))
    }
}

/// One login: a session and the grants of the clients that joined it.
public struct SessionRecord: Sendable, Hashable {
    /// The session id (`sid`).
    public var id: String
    /// The user's id.
    public var userID: String
    /// When the user authenticated (Unix s).
    public var authTime: Int64
    /// Last refresh or login (Unix ms).
    public var lastSeen: Int64
    /// The absolute end of the session (Unix ms).
    public var absoluteExpiry: Int64
    /// Idle timeout (ms).
    public var idleTimeout: Int64
    /// The address the login came from.
    public var remoteAddress: String
    /// The login's `User-Agent`, cut to 64 bytes; empty when none was sent.
    public var userAgent: String = ""
    /// How the user authenticated (`amr`; a step up to a second factor changes it).
    public var methods: AuthenticationMethods = .password
    /// The clients holding a live grant in the session.
    public var clients: [String]

    /// When the session ends if nobody refreshes (Unix ms).
    public var expiresAt: Int64 { min(absoluteExpiry, lastSeen + idleTimeout) }
}

/// One entry of the event log.
public struct StoreEvent: Sendable, Hashable {
    /// The stream entry id (`<ms>-<seq>`); orders events within one stream.
    public var id: String
    /// The stream it came from.
    public var stream: String
    /// `login`, `login_failed`, `refresh`, `refresh_reuse_detected`, `session_ended`, ...
    public var type: String
    /// The user id, if any.
    public var user: String
    /// The session id, if any.
    public var session: String
    /// The client id(s), if any.
    public var client: String
    /// Who caused it: a client IP, `cli:<login>` or `hub`.
    public var actor: String
    /// Type-specific detail (a reason, a key id, a watermark).
    public var detail: String

    /// The time the event was recorded (Unix ms), from the stream id.
    public var timestamp: Int64 { Int64(id.prefix { $0 != "-" }) ?? 0 }
}

/// A signing key as stored: the public JWK, the private key (sealed under the KEK when one is
/// configured) and its schedule.
public struct StoredSigningKey: Sendable, Hashable {
    /// The key id (RFC 7638 thumbprint).
    public var keyID: String
    /// `ES256`, `EdDSA` or `RS256`.
    public var algorithm: String
    /// The public key as JWK JSON text.
    public var publicJWK: String
    /// PKCS#8 PEM, or base64 of AES-256-GCM sealed PEM when ``isSealed``.
    public var privateKey: String
    /// Whether ``privateKey`` is sealed under the key-encryption key.
    public var isSealed: Bool
    /// When the key was created (Unix s).
    public var createdAt: Int64
    /// From when the key signs (Unix s); until then it is only announced.
    public var activatesAt: Int64
    /// When the key stops being published (Unix s); `nil` while it is current.
    public var retiresAt: Int64?
    /// Which tokens the key signs; records stored before ID-token keys existed are primary.
    public var use: SigningKeyUse

    /// A stored key.
    public init(
        keyID: String, algorithm: String, publicJWK: String, privateKey: String, isSealed: Bool,
        createdAt: Int64, activatesAt: Int64, retiresAt: Int64? = nil, use: SigningKeyUse = .primary
    ) {
        self.keyID = keyID
        self.algorithm = algorithm
        self.publicJWK = publicJWK
        self.privateKey = privateKey
        self.isSealed = isSealed
        self.createdAt = createdAt
        self.activatesAt = activatesAt
        self.retiresAt = retiresAt
        self.use = use
    }

    /// The chain of keys this one belongs to: each chain has one signer at a time and rotates
    /// on its own (see ``SigningKeyChain``).
    public var chain: SigningKeyChain {
        switch use {
        case .primary: .primary
        case .idToken: .idToken(algorithm)
        }
    }
}

/// Which tokens a signing key signs.
public enum SigningKeyUse: String, Sendable, Hashable, CaseIterable {
    /// The hub's main key: every access token and logout token, and the ID tokens of clients
    /// registered without an ID-token algorithm. `hallpass keys rotate --alg` picks its
    /// algorithm.
    case primary
    /// A key kept for one algorithm, for the ID tokens of clients registered with
    /// `--id-token-alg` (OIDC Core section 15.1 requires RS256 of every OpenID Provider, and
    /// clients may ask for it whatever the hub signs access tokens with). Never signs access
    /// tokens, so validators do not accept access tokens signed with it.
    case idToken = "id_token"
}

/// A line of succession of signing keys: the primary keys, or the ID-token keys of one
/// algorithm. Rotation, withdrawal and the choice of signer work within one chain.
public enum SigningKeyChain: Sendable, Hashable, CustomStringConvertible {
    /// The primary keys (any algorithm: a rotation may change it).
    case primary
    /// The ID-token keys of one algorithm (`ES256`, `EdDSA`, `RS256`).
    case idToken(String)

    public var description: String {
        switch self {
        case .primary: "primary"
        case .idToken(let algorithm): "id_token/\(algorithm)"
        }
    }
}
