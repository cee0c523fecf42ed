#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Validates JWS compact tokens following the JWT Best Current Practices (RFC 8725).
///
/// The order of checks is deliberate: size first (before any work), then the header alone
/// (algorithm allow-list, `crit`, `typ`, key lookup, algorithm bound to the key), then the
/// signature, and only then the claims, so nothing an attacker wrote is believed before the
/// signature has been checked.
public struct JWTValidator: Sendable {
    /// What a token must satisfy.
    public struct Configuration: Sendable {
        /// The exact `iss` required.
        public var issuer: String
        /// A value that `aud` (string or array) must contain.
        public var audience: String
        /// The required `typ` (compared as a media type: case-insensitive, `application/` optional),
        /// or nil to accept any. Access tokens use `at+jwt` (RFC 9068).
        public var requiredType: String?
        /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds; clamped to 0...``maximumLeeway``.
        public var leeway: Double {
            didSet { leeway = Self.clamped(leeway) }
        }
        /// Tokens longer than this many bytes are refused before any parsing.
        public var maximumTokenSize: Int
        /// Whether a token without `exp` is refused. Access tokens must expire.
        public var requiresExpiration: Bool
        /// Whether `aud` must contain ``audience``. Only the issuer itself turns this off, when it
        /// introspects tokens it issued to any of its clients; `aud` must still be present.
        public var checksAudience: Bool = true

        /// The largest leeway a validator accepts: skew beyond a minute is a broken clock, not skew.
        public static let maximumLeeway: Double = 60

        /// A configuration for access tokens of `issuer` meant for `audience`.
        public init(
            issuer: String,
            audience: String,
            requiredType: String? = "at+jwt",
            leeway: Double = 10,
            maximumTokenSize: Int = 8192,
            requiresExpiration: Bool = true
        ) {
            self.issuer = issuer
            self.audience = audience
            self.requiredType = requiredType
            self.leeway = Self.clamped(leeway)
            self.maximumTokenSize = maximumTokenSize
            self.requiresExpiration = requiresExpiration
        }

        /// `leeway` within 0...``maximumLeeway``. NaN becomes 0: it compares false with every
        /// time, so left in place it would switch the `nbf` and `iat` checks off.
        private static func clamped(_ leeway: Double) -> Double {
            leeway.isNaN ? 0 : min(max(leeway, 0), maximumLeeway)
        }
    }

    /// The rules.
    public var configuration: Configuration {
        didSet { knownHeaders = Self.knownHeaders(keys, configuration) }
    }
    /// The trusted keys.
    public var keys: VerificationKeys {
        didSet { knownHeaders = Self.knownHeaders(keys, configuration) }
    }

    /// For each trusted key with a `kid`, the header segment a signer of this library writes for
    /// it (`{"alg","kid","typ"}`, members sorted), with the outcome of the header checks.
    ///
    /// Every token from one key carries those same bytes, and equal bytes decode to an equal
    /// header, so a token whose header segment matches skips base64 and JSON decoding of its
    /// header and arrives at the same result. Any other header takes the full path.
    private var knownHeaders: [KnownHeader]

    private struct KnownHeader: Sendable {
        let segment: [UInt8]
        let checked: CheckedHeader
    }

    /// A header that passed every check, with the key it selects.
    private struct CheckedHeader: Sendable {
        let members: [String: JSONValue]
        let key: VerificationKeys.Key
        let algorithm: JWSAlgorithm
    }

    /// A validator for `configuration` trusting `keys`.
    public init(configuration: Configuration, keys: VerificationKeys) {
        self.configuration = configuration
        self.keys = keys
        self.knownHeaders = Self.knownHeaders(keys, configuration)
    }

    private static func knownHeaders(_ keys: VerificationKeys, _ configuration: Configuration) -> [KnownHeader] {
        keys.all.compactMap { key in
            guard let keyID = key.keyID else { return nil }
            var members: [String: JSONValue] = ["alg": .string(key.algorithm.rawValue), "kid": .string(keyID)]
            if let type = configuration.requiredType { members["typ"] = .string(type) }
            let segment = Array(JWTSigner.segment(members).utf8)
            return KnownHeader(segment: segment, checked: CheckedHeader(members: members, key: key, algorithm: key.algorithm))
        }
    }

    /// Validates `token` at time `now` (seconds since 1970).
    @inlinable
    public func validate(_ token: some StringProtocol, now: Double = wallClockSeconds()) throws(JWTError) -> VerifiedJWT {
        try withBytes(of: token) { bytes throws(JWTError) in try validate(bytes: bytes, now: now) }
    }

    /// Validates a token given as UTF-8 bytes.
    public func validate(bytes token: UnsafeBufferPointer<UInt8>, now: Double = wallClockSeconds()) throws(JWTError) -> VerifiedJWT {
        let (header, claims) = try verify(token, now: now) { payload throws(JWTError) in
            JWTClaims(try Self.object(payload, .payload))
        }
        return VerifiedJWT(header: header.members, claims: claims, algorithm: header.algorithm, keyID: header.key.keyID)
    }

    /// Validates an access token like ``validate(_:now:)``, with the same checks and errors,
    /// but decodes only the claims a resource server acts on: no dictionary of every claim.
    /// This is the road a validator called on every request takes.
    @inlinable
    public func validateAccessToken(_ token: some StringProtocol, now: Double = wallClockSeconds()) throws(JWTError) -> AccessTokenClaims {
        try withBytes(of: token) { bytes throws(JWTError) in try validateAccessToken(bytes: bytes, now: now) }
    }

    /// Lends `body` the token's UTF-8 bytes, refusing an oversized token before any copy
    /// (native strings lend their storage; others are copied once).
    @inlinable
    func withBytes<Result>(
        of token: some StringProtocol, _ body: (UnsafeBufferPointer<UInt8>) throws(JWTError) -> Result
    ) throws(JWTError) -> Result {
        let utf8 = token.utf8
        guard utf8.count <= configuration.maximumTokenSize else {
            throw .tooLarge(limit: configuration.maximumTokenSize)
        }
        let contiguous = utf8.withContiguousStorageIfAvailable { buffer in
            Swift.Result { () throws(JWTError) in try body(buffer) }
        }
        if let contiguous { return try contiguous.get() }
        return try Array(utf8).withUnsafeBufferPointer { buffer in
            Swift.Result { () throws(JWTError) in try body(buffer) }
        }.get()
    }

    /// Validates an access token given as UTF-8 bytes (see ``validateAccessToken(_:now:)``).
    public func validateAccessToken(bytes token: UnsafeBufferPointer<UInt8>, now: Double = wallClockSeconds()) throws(JWTError) -> AccessTokenClaims {
        try verify(token, now: now) { json throws(JWTError) in
            try Self.decoded(json, .payload) { json throws(JWTError) in try AccessTokenClaims.decode(json) }
        }.claims
    }

    /// The checks every token passes, in their order, with the payload decoded by `decode`.
    private func verify<Claims: RegisteredClaimValues>(
        _ token: UnsafeBufferPointer<UInt8>,
        now: Double,
        decode: (UnsafeBufferPointer<UInt8>) throws(JWTError) -> Claims
    ) throws(JWTError) -> (header: CheckedHeader, claims: Claims) {
        guard token.count <= configuration.maximumTokenSize else {
            throw .tooLarge(limit: configuration.maximumTokenSize)
        }
        let parts = try CompactJWS(token)

        // 1. The header alone.
        let header = try checkHeader(parts.header)

        // 2. The signature, over the exact bytes received.
        let isValid = try Self.decoded(parts.signature, .signature) { signature in
            header.key.publicKey.isValidSignature(UnsafeRawBufferPointer(signature), for: UnsafeRawBufferPointer(parts.signingInput))
        }
        guard isValid else { throw .badSignature }

        // 3. The claims.
        let claims = try decode(parts.payload)
        try checkClaims(claims, now: now)
        return (header, claims)
    }

    /// Lends `body` the base64url decoding of `segment` in temporary storage (on the stack for
    /// a token's segments), so decoding allocates nothing.
    private static func decoded<Result>(
        _ segment: UnsafeBufferPointer<UInt8>,
        _ which: JWTError.Segment,
        _ body: (UnsafeBufferPointer<UInt8>) throws(JWTError) -> Result
    ) throws(JWTError) -> Result {
        let capacity: Int
        do { capacity = try Base64URL.decodedCount(segment.count) } catch { throw .malformed(.base64url(which)) }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(capacity, 1)) { buffer throws(JWTError) in
            let count: Int
            do { count = try Base64URL.decode(segment, into: buffer) } catch { throw .malformed(.base64url(which)) }
            return try body(UnsafeBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    private func checkHeader(_ segment: UnsafeBufferPointer<UInt8>) throws(JWTError) -> CheckedHeader {
        for known in knownHeaders where known.segment.count == segment.count {
            let equal = known.segment.withUnsafeBufferPointer { expected in
                guard let expected = expected.baseAddress, let actual = segment.baseAddress else { return segment.isEmpty }
                return memcmp(expected, actual, segment.count) == 0
            }
            if equal { return known.checked }
        }
        let header = try Self.object(segment, .header)
        guard case .string(let alg)? = header["alg"] else {
            throw header["alg"] == nil ? .malformed(.missingClaim("alg")) : .malformed(.invalidMember("alg"))
        }
        guard let algorithm = JWSAlgorithm(rawValue: alg) else { throw .disallowedAlgorithm(alg) }
        guard header["crit"] == nil else { throw .unsupportedCriticalHeader }
        if let required = configuration.requiredType {
            let found: String?
            switch header["typ"] {
            case nil: found = nil
            case .string(let typ)?: found = typ
            default: throw .malformed(.invalidMember("typ"))
            }
            guard let found, Self.mediaTypeMatches(found, required) else { throw .wrongType(found: found) }
        }
        let keyID: String?
        switch header["kid"] {
        case nil: keyID = nil
        case .string(let kid)?: keyID = kid
        default: throw .malformed(.invalidMember("kid"))
        }
        guard let key = keys.key(for: keyID) else { throw .unknownKey(keyID: keyID) }
        guard key.algorithm == algorithm else {
            throw .algorithmMismatch(header: alg, key: key.algorithm.rawValue)
        }
        return CheckedHeader(members: header, key: key, algorithm: algorithm)
    }

    private func checkClaims(_ claims: some RegisteredClaimValues, now: Double) throws(JWTError) {
        let leeway = configuration.leeway
        let expiration = try Self.numericDate(claims, .expiresAt)
        if let expiration {
            guard now < expiration + leeway else { throw .expired }
        } else if configuration.requiresExpiration {
            throw .malformed(.missingClaim("exp"))
        }
        if let notBefore = try Self.numericDate(claims, .notBefore), now + leeway < notBefore { throw .notYetValid }
        if let issuedAt = try Self.numericDate(claims, .issuedAt), now + leeway < issuedAt { throw .issuedInFuture }
        if let subject = claims[registered: .subject], subject.stringValue == nil { throw .malformed(.invalidMember("sub")) }
        if let tokenID = claims[registered: .tokenID], tokenID.stringValue == nil { throw .malformed(.invalidMember("jti")) }
        guard case .string(let issuer)? = claims[registered: .issuer], Self.identical(issuer, configuration.issuer) else {
            throw .wrongIssuer
        }
        let audience = claims[registered: .audience]
        if !configuration.checksAudience {
            switch audience {
            case .string?, .array?: return
            default: throw .wrongAudience
            }
        }
        switch audience {
        case .string(let audience)?:
            guard Self.identical(audience, configuration.audience) else { throw .wrongAudience }
        case .array(let audiences)?:
            let expected = configuration.audience
            guard audiences.contains(where: { $0.stringValue.map { Self.identical($0, expected) } ?? false }) else {
                throw .wrongAudience
            }
        default:
            throw .wrongAudience
        }
    }

    /// RFC 7519 section 2: StringOrURI values are compared as case-sensitive strings with no
    /// transformations or canonicalizations. Swift's `==` applies Unicode canonical equivalence
    /// ("é" equals "e" + U+0301), so the comparison is on the UTF-8 bytes instead.
    private static func identical(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }

    private static func numericDate(_ claims: some RegisteredClaimValues, _ name: AccessTokenClaims.Name) throws(JWTError) -> Double? {
        guard let value = claims[registered: name] else { return nil }
        guard let seconds = value.numericValue else { throw .malformed(.invalidMember(name.claimName)) }
        return seconds
    }

    private static func object(_ segment: UnsafeBufferPointer<UInt8>, _ which: JWTError.Segment) throws(JWTError) -> [String: JSONValue] {
        let value = try decoded(segment, which) { json throws(JWTError) in
            do throws(JSONError) { return try JSONParser.parse(buffer: json) } catch { throw .malformed(.json(which, error)) }
        }
        guard case .object(let members) = value else { throw .malformed(.notAnObject(which)) }
        return members
    }

    /// RFC 7515 section 4.1.9: `typ` is a media type, compared case-insensitively, and the
    /// `application/` prefix is recommended to be omitted, so both spellings must match.
    static func mediaTypeMatches(_ found: String, _ required: String) -> Bool {
        func withoutApplicationPrefix(_ type: String) -> Substring.UTF8View {
            let bytes = Substring(type).utf8
            let prefix = "application/".utf8
            guard bytes.count >= prefix.count, asciiCaseInsensitiveEqual(bytes.prefix(prefix.count), prefix) else {
                return bytes
            }
            return bytes.dropFirst(prefix.count)
        }
        return asciiCaseInsensitiveEqual(withoutApplicationPrefix(found), withoutApplicationPrefix(required))
    }

    private static func asciiCaseInsensitiveEqual(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { left, right in
            left == right || (left | 0x20 == right | 0x20 && (left | 0x20) >= UInt8(ascii: "a") && (left | 0x20) <= UInt8(ascii: "z"))
        }
    }
}

/// The three segments of a JWS compact serialization, as views into the token's bytes.
struct CompactJWS {
    let header: UnsafeBufferPointer<UInt8>
    let payload: UnsafeBufferPointer<UInt8>
    let signature: UnsafeBufferPointer<UInt8>
    let signingInput: UnsafeBufferPointer<UInt8>

    init(_ token: UnsafeBufferPointer<UInt8>) throws(JWTError) {
        // memchr is vectorized; a token is a few hundred bytes and this runs on every request.
        func dot(in range: Range<Int>) -> Int? {
            guard let base = token.baseAddress, !range.isEmpty,
                  let found = memchr(base + range.lowerBound, Int32(UInt8(ascii: ".")), range.count)
            else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
        guard let first = dot(in: 0..<token.count),
              let second = dot(in: (first + 1)..<token.count),
              dot(in: (second + 1)..<token.count) == nil
        else {
            let count = token.isEmpty ? 0 : token.reduce(1) { $1 == UInt8(ascii: ".") ? $0 + 1 : $0 }
            throw .malformed(.segmentCount(count))
        }
        header = UnsafeBufferPointer(rebasing: token[0..<first])
        payload = UnsafeBufferPointer(rebasing: token[(first + 1)..<second])
        signature = UnsafeBufferPointer(rebasing: token[(second + 1)...])
        signingInput = UnsafeBufferPointer(rebasing: token[0..<second])
    }
}
