// jwt-kit 5, the comparison for the validator benchmark. In a file of its own: JWTKit and
// HallpassJOSE both define JWK, JWTError and JWTSigner.
import Foundation
import JWTKit

struct KitPayload: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var jti: IDClaim
    var client_id: String
    var scope: String?
    var sid: String

    static let expectedIssuer = "http://127.0.0.1:8400"

    struct WrongIssuer: Error {}

    /// The same claim checks the Hallpass validator makes (exp, aud, iss).
    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try aud.verifyIntendedAudience(includes: "notes")
        guard iss.value == Self.expectedIssuer else { throw WrongIssuer() }
    }
}

/// jwt-kit's verifier over the same public keys (a JWKS document).
struct JWTKitVerifier: Sendable {
    let keys: JWTKeyCollection

    init(jwksJSON: String) async throws {
        keys = JWTKeyCollection()
        try await keys.add(jwksJSON: jwksJSON)
    }

    /// Verifies `token` the way an app would: signature, then the payload's checks.
    func verify(_ token: String) async -> Bool {
        (try? await keys.verify(token, as: KitPayload.self)) != nil
    }
}
