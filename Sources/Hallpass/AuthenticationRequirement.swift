public import HallpassJOSE

/// What a resource demands of the user's authentication (RFC 9470, OAuth 2.0 Step Up
/// Authentication Challenge): an authentication context class (`acr`, e.g. `"mfa"` for a
/// second factor) and/or a maximum age of the sign-in (`max_age`, checked against `auth_time`).
///
/// A client's own token (client credentials grant) never meets a requirement: it speaks for
/// no user, so no user authentication can be asked of it. A token without `acr`/`amr` (minted
/// before the hub sent them) meets no `acr` requirement, and one without `auth_time` no
/// `maxAge`.
///
/// ```swift
/// let invoices = AuthenticationRequirement(acr: "mfa", maxAge: .seconds(600))
/// if let unmet = invoices.unmet(by: identity) { /* send the user back through the hub */ }
/// ```
public struct AuthenticationRequirement: Sendable, Hashable, CustomStringConvertible {
    /// The `acr` value the sign-in must satisfy (see ``Identity/satisfies(authenticationContext:)``), or nil for any.
    public let acr: String?
    /// How long ago, at most, the user may have authenticated, in whole seconds (RFC 9470
    /// `max_age`), or nil for any age.
    public let maxAgeSeconds: Int64?

    /// A requirement of `acr` and/or `maxAge`; `maxAge` is rounded down to whole seconds
    /// (OpenID Connect's `max_age` counts seconds), and below a second counts as 0.
    public init(acr: String? = nil, maxAge: Duration? = nil) {
        self.acr = acr
        self.maxAgeSeconds = maxAge.map { max(0, $0.components.seconds) }
    }

    /// A second factor (`acr` `"mfa"`), within `maxAge` when given.
    public static func secondFactor(maxAge: Duration? = nil) -> AuthenticationRequirement {
        AuthenticationRequirement(acr: Identity.secondFactorContext, maxAge: maxAge)
    }

    /// What an identity failed to meet; nil members were met (or not asked for).
    public struct Unmet: Sendable, Hashable {
        /// The token speaks for a client, not a user.
        public let notAUser: Bool
        /// The `acr` it lacks.
        public let acr: String?
        /// The `max_age` its `auth_time` is beyond (or which it cannot show, without `auth_time`).
        public let maxAgeSeconds: Int64?

        /// What was not met; ``AuthenticationRequirement/unmet(by:now:)`` makes these.
        public init(notAUser: Bool, acr: String?, maxAgeSeconds: Int64?) {
            self.notAUser = notAUser
            self.acr = acr
            self.maxAgeSeconds = maxAgeSeconds
        }

        /// A sentence for `error_description` and logs (RFC 9470 §3 has these phrasings).
        public var description: String {
            if notAUser { return "A user's authentication is required" }
            switch (acr, maxAgeSeconds) {
            case (Identity.secondFactorContext?, nil): return "A second factor is required"
            case (Identity.secondFactorContext?, _?): return "A second factor and a more recent authentication are required"
            case (_?, nil): return "A different authentication level is required"
            case (_?, _?): return "A different authentication level and a more recent authentication are required"
            case (nil, _): return "More recent authentication is required"
            }
        }
    }

    /// What `identity` fails to meet at `now` (Unix s), or nil when it meets the requirement.
    public func unmet(by identity: Identity, now: Double = wallClockSeconds()) -> Unmet? {
        if identity.isClient { return Unmet(notAUser: true, acr: acr, maxAgeSeconds: maxAgeSeconds) }
        let missingContext = acr.flatMap { identity.satisfies(authenticationContext: $0) ? nil : $0 }
        let tooOld = maxAgeSeconds.flatMap { identity.authenticated(within: $0, now: now) ? nil : $0 }
        if missingContext == nil, tooOld == nil { return nil }
        return Unmet(notAUser: false, acr: missingContext, maxAgeSeconds: tooOld)
    }

    /// Whether `identity` meets the requirement at `now` (Unix s).
    public func isMet(by identity: Identity, now: Double = wallClockSeconds()) -> Bool {
        unmet(by: identity, now: now) == nil
    }

    /// `acr=mfa max_age=300`, for logs.
    public var description: String {
        var parts: [String] = []
        if let acr { parts.append("acr=\(acr)") }
        if let maxAgeSeconds { parts.append("max_age=\(maxAgeSeconds)") }
        return parts.isEmpty ? "any authentication" : parts.joined(separator: " ")
    }
}
