import HallpassCrypto
import HallpassOTP
import HallpassQR
import HallpassStore

/// What checking a one-time code (a TOTP code or a recovery code) came to.
enum SecondFactorCheck: Sendable {
    /// The code was right and is now used up.
    case accepted
    /// Wrong, malformed, replayed, or the user has no second factor (never said which).
    case wrong
    /// Too many failures for this user or address; retry after this many seconds.
    case throttled(retryAfterSeconds: Int64)
}

/// A TOTP secret being set up, ready to show: the secret in base32, and its `otpauth://` URI as
/// an SVG QR code. Never logged.
struct EnrollmentOffer: Sendable, CustomStringConvertible {
    let secretText: String
    let qrSVG: String

    var description: String { "EnrollmentOffer(redacted)" }
}

extension HubServices {
    /// The issuer name authenticator apps show next to the code.
    static let authenticatorIssuer = "Hallpass"

    /// Whether `user` must have a second factor: their own policy, else the global one
    /// (optional by default).
    func requiresSecondFactor(_ user: UserRecord) async throws -> Bool {
        if let own = user.secondFactorPolicy { return own == .required }
        return try await store.globalSecondFactorPolicy() == .required
    }

    /// Checks `code` against `user`'s second factor: six digits are a TOTP code (RFC 6238: the
    /// current step or one either side, each step accepted once), anything else a recovery
    /// code (used up when right). Every check is reserved against the login throttle first and
    /// released only when right, so wrong codes count like wrong passwords.
    func checkSecondFactor(_ user: UserRecord, code: String, clientID: String, address: String) async throws -> SecondFactorCheck {
        if let retryAfter = try await store.reserveLoginAttempt(username: user.username, address: address, limits: configuration.loginThrottle) {
            metrics.login("throttled")
            return .throttled(retryAfterSeconds: (retryAfter + 999) / 1000)
        }
        var accepted = false
        if code.utf8.count <= 64, let factor = try await store.secondFactor(ofUser: user.id) {
            if code.utf8.count == 6, code.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
                if let secret = try? SecondFactorSecret.open(factor.storedSecret, userID: user.id, kek: configuration.keyEncryptionKey),
                    let step = TOTP(secret: secret).matchingTimeStep(of: code, at: now, after: factor.lastUsedStep)
                {
                    accepted = try await store.useTimeStep(userID: user.id, storedSecret: factor.storedSecret, step: step) == .accepted
                }
            } else if let recovery = RecoveryCode(code) {
                accepted = try await store.useRecoveryCode(userID: user.id, hash: recovery.hash, actor: address) != nil
            }
        }
        guard accepted else {
            metrics.login("bad_second_factor")
            try await store.appendEvent("mfa_failed", user: user.id, client: clientID, actor: address, detail: "wrong_code")
            return .wrong
        }
        try await store.releaseLoginAttempt(username: user.username, address: address)
        return .accepted
    }

    /// Starts setting up a TOTP second factor for `user` (replacing a set-up in progress): a
    /// fresh secret, kept sealed until a code confirms it.
    func offerEnrollment(_ user: UserRecord) async throws -> EnrollmentOffer {
        let secret = try TOTP.generateSecret()
        let stored = try SecondFactorSecret.seal(secret, userID: user.id, kek: configuration.keyEncryptionKey)
        try await store.beginEnrollment(userID: user.id, storedSecret: stored)
        return try Self.offer(secret: secret, user: user)
    }

    /// The offer for the set-up in progress, shown again (after a wrong code); `nil` when it
    /// expired.
    func currentEnrollment(_ user: UserRecord) async throws -> EnrollmentOffer? {
        guard let stored = try await store.pendingEnrollment(userID: user.id),
            let secret = try? SecondFactorSecret.open(stored, userID: user.id, kek: configuration.keyEncryptionKey)
        else { return nil }
        return try Self.offer(secret: secret, user: user)
    }

    private static func offer(secret: [UInt8], user: UserRecord) throws -> EnrollmentOffer {
        let totp = TOTP(secret: secret)
        let uri = totp.provisioningURI(issuer: authenticatorIssuer, account: user.username)
        let svg = try QRCode(uri).svg(moduleSize: 5, title: "QR code to add Hallpass to an authenticator app")
        // Groups of four, as authenticator apps show typed secrets.
        let text = Base32.encode(secret).uppercased()
        let grouped = stride(from: 0, to: text.count, by: 4).map { start -> String in
            let from = text.index(text.startIndex, offsetBy: start)
            return String(text[from..<(text.index(from, offsetBy: 4, limitedBy: text.endIndex) ?? text.endIndex)])
        }.joined(separator: " ")
        return EnrollmentOffer(secretText: grouped, qrSVG: svg)
    }

    /// Confirms the set-up in progress with `code`: on success the user has a second factor
    /// and these recovery codes (shown once; only their hashes are stored). `nil` for a wrong
    /// code or an expired set-up. Counted against the login throttle like any code.
    func confirmEnrollment(_ user: UserRecord, code: String, address: String) async throws -> ConfirmedEnrollment {
        if let retryAfter = try await store.reserveLoginAttempt(username: user.username, address: address, limits: configuration.loginThrottle) {
            return .throttled(retryAfterSeconds: (retryAfter + 999) / 1000)
        }
        guard let stored = try await store.pendingEnrollment(userID: user.id) else { return .expired }
        guard let secret = try? SecondFactorSecret.open(stored, userID: user.id, kek: configuration.keyEncryptionKey),
            let step = TOTP(secret: secret).matchingTimeStep(of: code, at: now)
        else {
            try await store.appendEvent("mfa_failed", user: user.id, actor: address, detail: "enrollment_code")
            return .wrong
        }
        let codes = try RecoveryCode.generate()
        guard try await store.completeEnrollment(
            userID: user.id, storedSecret: stored, step: step, recoveryCodeHashes: codes.map(\.hash), actor: address)
        else { return .expired }
        try await store.releaseLoginAttempt(username: user.username, address: address)
        return .enrolled(recoveryCodes: codes.map(\.displayText))
    }

    /// New recovery codes for a user with a second factor (the old ones stop working); `nil`
    /// without one.
    func regenerateRecoveryCodes(_ user: UserRecord, actor: String) async throws -> [String]? {
        let codes = try RecoveryCode.generate()
        guard try await store.replaceRecoveryCodes(userID: user.id, hashes: codes.map(\.hash), actor: actor) else { return nil }
        return codes.map(\.displayText)
    }
}

/// What confirming a TOTP set-up came to.
enum ConfirmedEnrollment: Sendable {
    /// Done; the recovery codes to show once.
    case enrolled(recoveryCodes: [String])
    /// The code does not match the secret being set up.
    case wrong
    /// No set-up in progress (expired, or replaced in another window).
    case expired
    /// Too many failed attempts.
    case throttled(retryAfterSeconds: Int64)
}
