public import HallpassCrypto

/// A time-based one-time password generator and checker (RFC 6238), the second factor of
/// authenticator apps: a shared secret and the clock give a short code that changes every period.
///
/// The defaults (HMAC-SHA-1, 6 digits, 30 seconds) are what authenticator apps expect; the
/// parameters exist for RFC 6238's test vectors and for apps that support more.
///
/// Checking a code returns the time step it matched rather than a yes or no, because a code
/// stays valid for its whole step (and the drift window): RFC 6238 §5.2 says the verifier must
/// not accept the same code twice, so the caller stores the last step it accepted and passes
/// it back (`after:`), and a code seen by a shoulder-surfer or a phishing proxy cannot be
/// replayed.
///
/// The secret never appears in `description`, `debugDescription` or a mirror, so logging a
/// `TOTP` or dumping it in a debugger does not leak it.
public struct TOTP: Sendable {
    /// The shared secret, the HMAC key. Private: it is the second factor itself.
    private let secret: [UInt8]
    /// The number of digits in a code (6 to 8).
    public let digits: Int
    /// The length of a time step, in seconds.
    public let period: Int64
    /// The HMAC hash.
    public let algorithm: Algorithm

    /// The length of a secret from ``generateSecret()``: 20 bytes (160 bits), RFC 4226 §4 R6's
    /// recommendation and the length of an HMAC-SHA-1 key that needs no hashing.
    public static let secretByteCount = 20

    /// A generator for `secret`.
    ///
    /// - Parameters:
    ///   - secret: The shared secret. RFC 4226 §4 requires at least 16 bytes; ``generateSecret()``
    ///     makes 20.
    ///   - digits: 6, 7 or 8 (``HOTP/allowedDigits``); other values are a programming error.
    ///   - period: The time step in seconds, at least 1; authenticator apps assume 30.
    ///   - algorithm: The HMAC hash; authenticator apps assume SHA-1.
    public init(secret: [UInt8], digits: Int = 6, period: Int64 = 30, algorithm: Algorithm = .sha1) {
        precondition(HOTP.allowedDigits.contains(digits), "a TOTP code has 6 to 8 digits")
        precondition(period > 0, "a TOTP period is at least one second")
        self.secret = secret
        self.digits = digits
        self.period = period
        self.algorithm = algorithm
    }

    /// A new 20-byte secret from OpenSSL's CSPRNG (``SecureRandom``).
    ///
    /// - Throws: ``CryptoError`` if the generator fails (it does not on a working system); there
    ///   is no fallback, since a second factor from any weaker source would be worse than none.
    ///   A request handler answers that with an error instead of stopping the process.
    public static func generateSecret() throws(CryptoError) -> [UInt8] {
        try SecureRandom.bytes(count: secretByteCount)
    }

    /// The time step of `unixTime` (seconds since 1970 UTC): `floor(unixTime / period)`
    /// (RFC 6238 §4.2, with T0 = 0). Floor, not truncation, so times before 1970 still fall
    /// into consecutive steps.
    public func timeStep(at unixTime: Int64) -> Int64 {
        let quotient = unixTime / period
        return unixTime % period < 0 ? quotient - 1 : quotient
    }

    /// The code of time step `step`: the HOTP value with the step as its counter, exactly
    /// ``digits`` ASCII digits, zero-padded.
    public func code(forTimeStep step: Int64) -> String {
        HOTP.code(secret: secret, counter: step, digits: digits, algorithm: algorithm)
    }

    /// The code valid at `unixTime` (seconds since 1970 UTC).
    public func code(at unixTime: Int64) -> String {
        code(forTimeStep: timeStep(at: unixTime))
    }

    /// The time step whose code `code` is, looked for within `allowedDrift` steps either side
    /// of the step of `unixTime`, or `nil`.
    ///
    /// RFC 6238 §5.2 recommends accepting one step either side (the default): phones' clocks
    /// drift and people type slowly, and a larger window only gives guessing more chances.
    ///
    /// Every candidate is computed and compared in constant time, whatever matches, so the
    /// time taken tells nothing about how close a guess came or which step it matched. Anything
    /// that is not exactly ``digits`` ASCII digits (spaces, letters, other scripts' digits such as
    /// `١٢٣٤٥٦`, the wrong length) is refused before any comparison: codes are never normalized,
    /// since the caller's form can strip spaces if it wants to.
    ///
    /// - Parameters:
    ///   - code: What the user typed.
    ///   - unixTime: The verifier's current time, in seconds since 1970 UTC.
    ///   - allowedDrift: How many steps either side of the current one to accept (0 or more).
    ///   - lastUsedStep: The step of the last code this user had accepted, if any; only later
    ///     steps match, so a code is never accepted twice (RFC 6238 §5.2). Store the returned step.
    /// - Returns: The matched time step, to be stored as the new last used step; `nil` when the
    ///   code matches no step in the window (or only steps at or before `lastUsedStep`).
    public func matchingTimeStep(
        of code: some StringProtocol,
        at unixTime: Int64,
        allowedDrift: Int64 = 1,
        after lastUsedStep: Int64? = nil
    ) -> Int64? {
        precondition(allowedDrift >= 0, "the allowed drift is a number of steps, 0 or more")
        let typed = Array(code.utf8)
        guard typed.count == digits, typed.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }

        let current = timeStep(at: unixTime)
        // Clamped rather than trapping at the ends of Int64 (a period of 1 s and a time near
        // Int64.max): there are simply no steps beyond them to try.
        let (earliest, below) = current.subtractingReportingOverflow(allowedDrift)
        let (latest, above) = current.addingReportingOverflow(allowedDrift)
        var matched: Int64?
        for step in (below ? Int64.min : earliest)...(above ? Int64.max : latest) {
            let equal = ConstantTime.equals(self.code(forTimeStep: step).utf8, typed)
            // The latest matching step wins: if one code happens to be valid for two steps of
            // the window (a one-in-a-million coincidence), storing the later one means the same
            // code cannot then be replayed against it.
            if equal, lastUsedStep.map({ step > $0 }) ?? true { matched = step }
        }
        return matched
    }

    /// The `otpauth://` URI an authenticator app reads from a QR code, in Google Authenticator's
    /// "Key Uri Format": `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`.
    ///
    /// The label's issuer and account and the `issuer` parameter are percent-encoded (everything
    /// but `A-Z a-z 0-9 - . _ ~`, so `alice@example.com` becomes `alice%40example.com` and a
    /// space `%20`, never `+`). The issuer appears twice because older apps read only the label
    /// and newer ones prefer the parameter. The secret is base32 in capitals without padding,
    /// the form the format specifies.
    ///
    /// - Parameters:
    ///   - issuer: The service's name as the app should show it, e.g. `Hallpass`. It should not
    ///     contain a colon: the format forbids one, and some apps split the label at the first
    ///     colon even when it is encoded as `%3A`.
    ///   - account: The user's name or email address.
    /// - Returns: The URI. It contains the secret: show it only to the enrolling user, and never log it.
    public func provisioningURI(issuer: String, account: String) -> String {
        let encodedIssuer = PercentEncoding.encode(issuer)
        return "otpauth://totp/\(encodedIssuer):\(PercentEncoding.encode(account))"
            + "?secret=\(Base32.encode(secret).uppercased())"
            + "&issuer=\(encodedIssuer)"
            + "&algorithm=\(algorithm.rawValue)"
            + "&digits=\(digits)"
            + "&period=\(period)"
    }
}

extension TOTP: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The parameters, never the secret.
    public var description: String {
        "TOTP(secret: redacted, digits: \(digits), period: \(period), algorithm: \(algorithm.rawValue))"
    }

    /// The same as ``description``: never the secret.
    public var debugDescription: String { description }

    /// A mirror without the secret, so `dump` and debuggers' summaries do not walk into it.
    public var customMirror: Mirror {
        Mirror(self, children: ["digits": digits, "period": period, "algorithm": algorithm], displayStyle: .struct)
    }
}
