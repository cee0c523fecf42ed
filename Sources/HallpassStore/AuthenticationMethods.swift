/// How a user authenticated in a session: the `amr` claim's values (RFC 8176) and the `acr`
/// level they amount to.
///
/// Stored in the session as the space-separated values. A session stored before second
/// factors existed has none and reads as a password login, which is what it was.
public struct AuthenticationMethods: Sendable, Hashable, CustomStringConvertible {
    /// The `amr` values, in the order they are sent.
    public let values: [String]

    /// A password only.
    public static let password = AuthenticationMethods(values: ["pwd"])
    /// A password and a one-time code (a TOTP code or a recovery code, which RFC 8176's `otp`
    /// covers: both are one-time passwords): two factors, hence `mfa`.
    public static let passwordAndOneTimeCode = AuthenticationMethods(values: ["pwd", "otp", "mfa"])

    /// The `acr` level of a password-only sign-in.
    public static let passwordLevel = "pwd"
    /// The `acr` level of a sign-in with a second factor; it satisfies a demand for
    /// ``passwordLevel`` too.
    public static let secondFactorLevel = "mfa"
    /// Every `acr` value the hub issues, weakest first (discovery's `acr_values_supported`).
    public static let levels = [passwordLevel, secondFactorLevel]

    private init(values: [String]) { self.values = values }

    /// Parses the stored form; empty or unknown means a password login.
    public init(stored: String) {
        self = stored.split(separator: " ").contains("mfa") ? .passwordAndOneTimeCode : .password
    }

    /// The stored form: the values joined by spaces.
    public var stored: String { values.joined(separator: " ") }

    /// Whether a second factor was used.
    public var includesSecondFactor: Bool { values.contains("mfa") }

    /// The `acr` value: ``secondFactorLevel`` or ``passwordLevel``.
    public var contextClass: String { includesSecondFactor ? Self.secondFactorLevel : Self.passwordLevel }

    /// Whether this authentication meets a requested `acr` level (`nil`: any does).
    public func satisfies(level: String?) -> Bool {
        guard let level else { return true }
        return level == Self.passwordLevel || (level == Self.secondFactorLevel && includesSecondFactor)
    }

    public var description: String { stored }
}
