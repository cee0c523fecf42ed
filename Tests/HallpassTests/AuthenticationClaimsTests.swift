import Hallpass
import HallpassCrypto
import HallpassJOSE
import HallpassStore
import HallpassTestSupport
import Testing

/// `amr`, `acr` and `auth_time` on ``Identity``, and ``AuthenticationRequirement`` on its own.
@Suite("Identity: amr, acr, auth_time and AuthenticationRequirement")
struct AuthenticationClaimsTests {
    static func identity(
        amr: [String] = [], acr: String? = nil, authTime: Int64? = nil, kind: Identity.Kind = .user
    ) -> Identity {
        Identity(
            subject: kind == .client ? "billing" : "u1", username: nil, sessionID: kind == .client ? "" : "s1", clientID: "billing",
            scopes: [], tokenID: "j1", issuedAt: 1_000, expiresAt: 1_300, kind: kind, authenticationMethods: amr,
            authenticationContext: acr, authTime: authTime)
    }

    @Test("hasSecondFactor from acr or amr; the levels pwd < mfa; nothing for an old token or a client")
    func levels() {
        let mfa = Self.identity(amr: ["pwd", "otp", "mfa"], acr: "mfa", authTime: 1_000)
        let amrOnly = Self.identity(amr: ["pwd", "otp", "mfa"])
        let acrOnly = Self.identity(acr: "mfa")
        let password = Self.identity(amr: ["pwd"], acr: "pwd", authTime: 1_000)
        let passwordAMROnly = Self.identity(amr: ["pwd"])
        let old = Self.identity()
        let client = Self.identity(amr: ["mfa"], acr: "mfa", authTime: 1_000, kind: .client)
        #expect(mfa.hasSecondFactor && amrOnly.hasSecondFactor && acrOnly.hasSecondFactor)
        #expect(!password.hasSecondFactor && !old.hasSecondFactor && !client.hasSecondFactor)
        for identity in [mfa, amrOnly, acrOnly] {
            #expect(identity.satisfies(authenticationContext: "mfa"))
            #expect(identity.satisfies(authenticationContext: "pwd"), "mfa satisfies a demand for pwd")
        }
        #expect(password.satisfies(authenticationContext: "pwd"))
        #expect(passwordAMROnly.satisfies(authenticationContext: "pwd"))
        #expect(!password.satisfies(authenticationContext: "mfa"))
        #expect(!password.satisfies(authenticationContext: "hwk"))
        #expect(!old.satisfies(authenticationContext: "pwd"))
        #expect(!client.satisfies(authenticationContext: "mfa"))
        #expect(Self.identity(acr: "urn:example:gold").satisfies(authenticationContext: "urn:example:gold"))
        #expect(!Self.identity(acr: "urn:example:gold").satisfies(authenticationContext: "pwd"), "an unknown acr has no level")
    }

    @Test("authenticated(within:now:) counts from auth_time, inclusive; false without it and for a client")
    func recency() {
        let identity = Self.identity(amr: ["pwd"], acr: "pwd", authTime: 1_000)
        #expect(identity.authenticated(within: 300, now: 1_300))
        #expect(!identity.authenticated(within: 300, now: 1_300.5))
        #expect(identity.authenticated(within: 0, now: 999))
        #expect(!Self.identity().authenticated(within: 1_000_000, now: 1_000))
        #expect(!Self.identity(authTime: 1_000, kind: .client).authenticated(within: 300, now: 1_000))
    }

    @Test("equality sees the new fields; the description does not grow")
    func equality() {
        let a = Self.identity(amr: ["pwd"], acr: "pwd", authTime: 1_000)
        #expect(a == Self.identity(amr: ["pwd"], acr: "pwd", authTime: 1_000))
        #expect(a != Self.identity(amr: ["pwd", "otp", "mfa"], acr: "pwd", authTime: 1_000))
        #expect(a != Self.identity(amr: ["pwd"], acr: "mfa", authTime: 1_000))
        #expect(a != Self.identity(amr: ["pwd"], acr: "pwd", authTime: 1_001))
        #expect(a.description == "Identity(sub: u1, sid: s1, client: billing)")
    }

    @Test("AuthenticationRequirement.unmet names what is missing; a client meets nothing")
    func requirement() {
        let both = AuthenticationRequirement.secondFactor(maxAge: .seconds(300))
        #expect(both.acr == "mfa" && both.maxAgeSeconds == 300)
        #expect(AuthenticationRequirement(maxAge: .milliseconds(2_900)).maxAgeSeconds == 2)
        let mfa = Self.identity(amr: ["pwd", "otp", "mfa"], acr: "mfa", authTime: 1_000)
        #expect(both.unmet(by: mfa, now: 1_200) == nil)
        #expect(both.unmet(by: mfa, now: 1_400) == .init(notAUser: false, acr: nil, maxAgeSeconds: 300))
        let password = Self.identity(amr: ["pwd"], acr: "pwd", authTime: 1_000)
        #expect(both.unmet(by: password, now: 1_200) == .init(notAUser: false, acr: "mfa", maxAgeSeconds: nil))
        #expect(both.unmet(by: Self.identity(), now: 1_200) == .init(notAUser: false, acr: "mfa", maxAgeSeconds: 300))
        #expect(AuthenticationRequirement(maxAge: .seconds(300)).isMet(by: password, now: 1_200))
        #expect(AuthenticationRequirement().isMet(by: Self.identity(), now: 1_200))
        let client = Self.identity(amr: ["mfa"], acr: "mfa", authTime: 1_000, kind: .client)
        #expect(both.unmet(by: client, now: 1_000)?.notAUser == true)
        #expect(AuthenticationRequirement().unmet(by: client, now: 1_000)?.description == "A user's authentication is required")
        #expect(both.description == "acr=mfa max_age=300")
    }
}

@Suite("Validator: amr, acr and auth_time from the token", .serialized)
struct AuthenticationClaimsValidatorTests {
    @Test("decoded into the Identity (and the cached one); absent in an old token; the wrong type is malformed")
    func decoded() async throws {
        let fixture = try await ValidatorFixture.start()
        defer { Task { await fixture.stop() } }
        let session = try await fixture.login()
        let now = HallpassStore.wallClockMilliseconds() / 1000
        let mfa = try fixture.token(
            session: session.sessionID, issuedAt: now, extra: ["amr": ["pwd", "otp", "mfa"], "acr": "mfa", "auth_time": .integer(now - 42)])
        let fractional = try fixture.token(session: session.sessionID, extra: ["auth_time": .number(Double(now) - 0.5)])
        // Before the hub sent amr and acr; and one without auth_time either.
        let current = try fixture.token(session: session.sessionID, issuedAt: now)
        let claims: [String: JSONValue] = [
            "iss": .string(ValidatorFixture.issuer), "sub": .string(fixture.userID), "aud": .string(ValidatorFixture.audience),
            "exp": .integer(now + 300), "iat": .integer(now), "jti": "old-token", "client_id": .string(ValidatorFixture.audience),
            "sid": .string(session.sessionID),
        ]
        let bare = try fixture.signer.sign(claims: claims)
        try await running(try fixture.validator()) { validator in
            let identity = try validator.validate(mfa)
            #expect(identity.authenticationMethods == ["pwd", "otp", "mfa"])
            #expect(identity.authenticationContext == "mfa")
            #expect(identity.authTime == now - 42)
            #expect(identity.hasSecondFactor)
            #expect(identity.username == "alice")
            #expect(try validator.validate(mfa) == identity, "the cached identity is the same")
            #expect(try validator.validate(fractional).authTime == now - 1)

            let today = try validator.validate(current)
            #expect(today.authenticationMethods.isEmpty && today.authenticationContext == nil && today.authTime == now)
            let old = try validator.validate(bare)
            #expect(old.authenticationMethods.isEmpty && old.authenticationContext == nil && old.authTime == nil && old.username == nil)
            #expect(!old.hasSecondFactor)

            let wrong: [(String, JSONValue, String)] = [
                ("amr", "mfa", "amr has the wrong type"), ("amr", ["pwd", 1], "amr has the wrong type"),
                ("acr", ["mfa"], "acr has the wrong type"), ("auth_time", "yesterday", "auth_time has the wrong type"),
            ]
            for (name, value, reason) in wrong {
                let token = try fixture.token(session: session.sessionID, extra: [name: value])
                #expect(refusal(validator, token) == .malformed(reason), "\(name)")
            }
        }
    }
}
