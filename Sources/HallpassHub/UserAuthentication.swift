import HallpassStore

/// The outcome of checking a username and password.
enum PasswordCheck: Sendable {
    /// The password is the user's.
    case verified(UserRecord)
    /// Unknown user or wrong password (never said which).
    case badCredentials
    /// Too many failures for this username or address; retry after this many seconds.
    case throttled(retryAfterSeconds: Int64)
}

extension HubServices {
    /// Checks a username and password the one way every login does (the password grant and
    /// the hub's login form): the throttles first (a reserved attempt counts as a failure
    /// until it is released), then Argon2id off the event loops, against a decoy hash for an
    /// unknown user so timing does not tell which usernames exist. Over-long input is
    /// answered like a wrong password, after the same work.
    ///
    /// For a user with a second factor, the reserved attempt stays counted after a right
    /// password, until a right code releases it (``checkSecondFactor(_:code:clientID:address:)``):
    /// releasing it here would reset the username's count at every right password, and someone
    /// who knows the password could then guess codes without limit.
    /// `secondFactorFollows` is false where no code is asked after the password (the account
    /// page's password change, inside a signed-in session).
    func authenticateUser(
        username: String, password: String, clientID: String, address: String, secondFactorFollows: Bool = true
    ) async throws -> PasswordCheck {
        let plausible = username.utf8.count <= 256 && password.utf8.count <= 1024
        if let retryAfter = try await store.reserveLoginAttempt(
            username: plausible ? username : "", address: address, limits: configuration.loginThrottle)
        {
            metrics.login("throttled")
            return .throttled(retryAfterSeconds: (retryAfter + 999) / 1000)
        }
        let user = plausible ? try await store.user(named: username) : nil
        let verified = await passwords.verify(plausible ? password : "", against: user?.passwordHash)
        guard verified, let user else {
            metrics.login("bad_credentials")
            try await store.appendEvent("login_failed", user: user?.id ?? "", client: clientID, actor: address, detail: "bad_credentials")
            return .badCredentials
        }
        if !(user.hasSecondFactor && secondFactorFollows) { try await store.releaseLoginAttempt(username: username, address: address) }
        return .verified(user)
    }

    /// The single-login policy in force: the global setting in Redis, else the configured one.
    func singleLoginPolicy() async throws -> SingleLoginPolicy {
        try await store.globalSingleLoginPolicy() ?? configuration.singleLoginPolicy
    }
}
