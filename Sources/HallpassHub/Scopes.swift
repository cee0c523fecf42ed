// A file of its own (TokenMinter.swift needs the store) so that the `redirect-uri` fuzz target
// can compile it.

/// The scopes the hub grants.
///
/// Values it does not know are ignored and left out of the granted scope (OIDC Core section
/// 3.1.2.1: "Scope values used that are not understood by an implementation SHOULD be
/// ignored"), so a client asking for `address` or an API scope of its own is served with
/// what the hub has instead of being refused. A request whose every value is unknown is
/// treated like one without `scope`: it gets ``defaultScope``.
///
/// `offline_access` (OIDC Core section 11) is understood and granted: every user grant at the
/// hub already comes with a refresh token. It does not make that token outlive the login:
/// every refresh token belongs to its session and ends with it (idle and absolute timeouts,
/// logout, forced logout), since revoking a whole login at once is what Hallpass is for.
enum Scopes {
    /// Every scope the hub grants, in the order discovery lists them.
    static let supportedList = ["openid", "profile", "email", "offline_access"]
    static let supported = Set<Substring>(supportedList.map { Substring($0) })
    static let defaultScope = "openid profile"

    /// The granted scope for a request's `scope` (deduplicated, in request order, unknown
    /// values dropped), or an error for a value too long to be a scope.
    static func parse(_ requested: String?) throws(OAuthError) -> String {
        try known(requested) ?? defaultScope
    }

    /// The scope values of `requested` the hub knows (deduplicated, in request order), or
    /// `nil` when there are none: the request then counts as one without `scope`.
    static func known(_ requested: String?) throws(OAuthError) -> String? {
        guard let requested else { return nil }
        guard requested.utf8.count <= 1024 else { throw OAuthError.invalidScope("the scope is too long") }
        var seen: Set<Substring> = []
        var ordered: [Substring] = []
        for scope in requested.split(separator: " ") where supported.contains(scope) {
            if seen.insert(scope).inserted { ordered.append(scope) }
        }
        return ordered.isEmpty ? nil : ordered.joined(separator: " ")
    }

    /// Whether every scope of `requested` is in `granted`.
    static func isSubset(_ requested: String, of granted: String) -> Bool {
        Set(requested.split(separator: " ")).isSubset(of: Set(granted.split(separator: " ")))
    }
}
