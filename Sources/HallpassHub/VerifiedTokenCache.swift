import HallpassJOSE
import Synchronization

/// Access tokens whose signature and header this hub already verified, by their exact text.
///
/// Resource servers introspect the same token on every request, and an ECDSA verification
/// costs ~100 µs on this class of machine, more than everything else an introspection does.
/// Identical bytes checked against the same keys give the same answer, so the signature
/// verdict is reused; time (`exp`, `nbf`) and revocation are still checked on every call.
/// The cache belongs to one set of keys: a key reload starts a new one. It is bounded, and
/// simply emptied when full (cheap, and a cold cache only costs the verification).
final class VerifiedTokenCache: Sendable {
    private let entries = Mutex<[String: VerifiedJWT]>([:])
    private let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// Validates `token`, reusing an earlier verification of the same bytes.
    func validate(_ token: String, with validator: JWTValidator, now: Double = wallClockSeconds()) throws(JWTError) -> VerifiedJWT {
        if let cached = entries.withLock({ $0[token] }) {
            let leeway = validator.configuration.leeway
            if let expiration = cached.claims.expiresAt, now >= expiration + leeway { throw .expired }
            if let notBefore = cached.claims.notBefore, now + leeway < notBefore { throw .notYetValid }
            return cached
        }
        let verified = try validator.validate(token, now: now)
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[token] = verified
        }
        return verified
    }
}
