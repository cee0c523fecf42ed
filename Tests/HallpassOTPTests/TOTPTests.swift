import HallpassCrypto
import HallpassOTP
import Testing

/// TOTP and HOTP against the RFCs' own vectors, the drift window, replay refusal, malformed
/// input, the provisioning URI's exact form, and the secret's absence from descriptions.
@Suite("TOTP and HOTP")
struct TOTPTests {
    static let sha1Seed = Array("12345678901234567890".utf8)
    static let sha256Seed = Array("12345678901234567890123456789012".utf8)
    static let sha512Seed = Array("1234567890123456789012345678901234567890123456789012345678901234".utf8)

    struct Vector: Sendable, CustomTestStringConvertible {
        let time: Int64
        let algorithm: TOTP.Algorithm
        let code: String
        var testDescription: String { "\(algorithm.rawValue) at \(time)" }
    }

    /// RFC 6238 Appendix B, all 18 rows (8 digits, 30 s steps, T0 = 0).
    static let rfc6238: [Vector] = [
        Vector(time: 59, algorithm: .sha1, code: "94287082"),
        Vector(time: 59, algorithm: .sha256, code: "46119246"),
        Vector(time: 59, algorithm: .sha512, code: "90693936"),
        Vector(time: 1_111_111_109, algorithm: .sha1, code: "07081804"),
        Vector(time: 1_111_111_109, algorithm: .sha256, code: "68084774"),
        Vector(time: 1_111_111_109, algorithm: .sha512, code: "25091201"),
        Vector(time: 1_111_111_111, algorithm: .sha1, code: "14050471"),
        Vector(time: 1_111_111_111, algorithm: .sha256, code: "67062674"),
        Vector(time: 1_111_111_111, algorithm: .sha512, code: "99943326"),
        Vector(time: 1_234_567_890, algorithm: .sha1, code: "89005924"),
        Vector(time: 1_234_567_890, algorithm: .sha256, code: "91819424"),
        Vector(time: 1_234_567_890, algorithm: .sha512, code: "93441116"),
        Vector(time: 2_000_000_000, algorithm: .sha1, code: "69279037"),
        Vector(time: 2_000_000_000, algorithm: .sha256, code: "90698825"),
        Vector(time: 2_000_000_000, algorithm: .sha512, code: "38618901"),
        Vector(time: 20_000_000_000, algorithm: .sha1, code: "65353130"),
        Vector(time: 20_000_000_000, algorithm: .sha256, code: "77737706"),
        Vector(time: 20_000_000_000, algorithm: .sha512, code: "47863826"),
    ]

    static func seed(_ algorithm: TOTP.Algorithm) -> [UInt8] {
        switch algorithm {
        case .sha1: sha1Seed
        case .sha256: sha256Seed
        case .sha512: sha512Seed
        }
    }

    @Test("RFC 6238 Appendix B", arguments: rfc6238)
    func rfc6238Vectors(_ vector: Vector) {
        let totp = TOTP(secret: Self.seed(vector.algorithm), digits: 8, algorithm: vector.algorithm)
        #expect(totp.code(at: vector.time) == vector.code)
        #expect(totp.matchingTimeStep(of: vector.code, at: vector.time, allowedDrift: 0) == vector.time / 30)
    }

    @Test("the Appendix B table has all 18 rows")
    func tableComplete() {
        #expect(Self.rfc6238.count == 18)
        #expect(Set(Self.rfc6238.map(\.testDescription)).count == 18)
    }

    @Test("RFC 4226 Appendix D: HOTP values for counters 0 to 9")
    func rfc4226() {
        let expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
        let totp = TOTP(secret: Self.sha1Seed)
        for (counter, code) in expected.enumerated() {
            #expect(HOTP.code(secret: Self.sha1Seed, counter: Int64(counter)) == code, "counter \(counter)")
            // A TOTP code is the HOTP code of its time step.
            #expect(totp.code(forTimeStep: Int64(counter)) == code, "step \(counter)")
        }
    }

    @Test("time steps: floor division, 30 s by default")
    func timeSteps() {
        let totp = TOTP(secret: Self.sha1Seed)
        #expect(totp.timeStep(at: 0) == 0)
        #expect(totp.timeStep(at: 29) == 0)
        #expect(totp.timeStep(at: 30) == 1)
        #expect(totp.timeStep(at: 59) == 1)
        #expect(totp.timeStep(at: -1) == -1)
        #expect(totp.timeStep(at: -30) == -1)
        #expect(totp.timeStep(at: -31) == -2)
        #expect(TOTP(secret: Self.sha1Seed, period: 60).timeStep(at: 119) == 1)
    }

    @Test("defaults: SHA-1, 6 digits, 30 s, zero-padded")
    func defaults() {
        let totp = TOTP(secret: Self.sha1Seed)
        #expect(totp.digits == 6)
        #expect(totp.period == 30)
        #expect(totp.algorithm == .sha1)
        // The 6-digit code is the last 6 digits of the 8-digit one (same truncated value).
        #expect(totp.code(at: 1_111_111_109) == "081804")
        #expect(totp.code(at: 1_111_111_109).hasPrefix("0"))
    }

    @Test("a code of the step before or after is accepted and returns that step; two away is not")
    func drift() throws {
        let totp = TOTP(secret: try TOTP.generateSecret())
        let now: Int64 = 1_700_000_015
        let step = totp.timeStep(at: now)
        for offset in Int64(-1)...1 {
            let code = totp.code(forTimeStep: step + offset)
            #expect(totp.matchingTimeStep(of: code, at: now) == step + offset, "offset \(offset)")
        }
        for offset: Int64 in [-3, -2, 2, 3] {
            let code = totp.code(forTimeStep: step + offset)
            // A code of a step two away can coincide with one in the window (p ≈ 3·10⁻⁶).
            let collides = (step - 1...step + 1).contains { totp.code(forTimeStep: $0) == code }
            if !collides {
                #expect(totp.matchingTimeStep(of: code, at: now) == nil, "offset \(offset)")
            }
        }
        // With no drift allowed only the current step's code matches.
        #expect(totp.matchingTimeStep(of: totp.code(forTimeStep: step), at: now, allowedDrift: 0) == step)
        let previous = totp.code(forTimeStep: step - 1)
        if previous != totp.code(forTimeStep: step) {
            #expect(totp.matchingTimeStep(of: previous, at: now, allowedDrift: 0) == nil)
        }
        // A wider window reaches further.
        #expect(totp.matchingTimeStep(of: totp.code(forTimeStep: step + 2), at: now, allowedDrift: 2) == step + 2)
    }

    @Test("a code already used (its step at or before the last used one) is refused")
    func replay() {
        let totp = TOTP(secret: Self.sha1Seed)
        let now: Int64 = 1_234_567_890
        let step = totp.timeStep(at: now)
        let code = totp.code(at: now)
        let used = totp.matchingTimeStep(of: code, at: now)
        #expect(used == step)
        // The same code again, even seconds later in the same step or the next: refused.
        #expect(totp.matchingTimeStep(of: code, at: now, after: used) == nil)
        #expect(totp.matchingTimeStep(of: code, at: now + 30, after: used) == nil)
        // The next step's code is still accepted.
        #expect(totp.matchingTimeStep(of: totp.code(forTimeStep: step + 1), at: now, after: used) == step + 1)
        // An older step's code after a newer one was used: refused.
        #expect(totp.matchingTimeStep(of: totp.code(forTimeStep: step - 1), at: now, after: step) == nil)
    }

    @Test(
        "malformed codes are refused",
        arguments: ["", "12345", "1234567", "12345a", "abcdef", "١٢٣٤٥٦", "１２３４５６", " 123456", "123456 ", "123 456", "-12345", "+12345"]
    )
    func malformed(_ input: String) {
        let totp = TOTP(secret: Self.sha1Seed)
        let now: Int64 = 59
        #expect(totp.matchingTimeStep(of: input, at: now) == nil)
    }

    @Test("a correct code with extra characters around it is refused")
    func paddedCorrectCode() {
        let totp = TOTP(secret: Self.sha1Seed)
        let code = totp.code(at: 59)
        #expect(totp.matchingTimeStep(of: code, at: 59) == 1)
        #expect(totp.matchingTimeStep(of: code + "0", at: 59) == nil)
        #expect(totp.matchingTimeStep(of: " " + code, at: 59) == nil)
        #expect(totp.matchingTimeStep(of: code.dropLast(), at: 59) == nil)
        // A Substring works as well as a String.
        #expect(totp.matchingTimeStep(of: ("x" + code).dropFirst(), at: 59) == 1)
    }

    @Test("generated secrets are 20 fresh bytes")
    func secrets() throws {
        let first = try TOTP.generateSecret()
        let second = try TOTP.generateSecret()
        #expect(first.count == 20)
        #expect(second.count == 20)
        #expect(first != second)
    }

    @Test("the provisioning URI follows the Key Uri Format, label and issuer percent-encoded")
    func provisioningURI() {
        let totp = TOTP(secret: Self.sha1Seed)
        #expect(totp.provisioningURI(issuer: "Hallpass", account: "alice@example.com")
            == "otpauth://totp/Hallpass:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            + "&issuer=Hallpass&algorithm=SHA1&digits=6&period=30")
        let other = TOTP(secret: Self.sha512Seed, digits: 8, period: 60, algorithm: .sha512)
        let uri = other.provisioningURI(issuer: "Hall Pass & Co", account: "zoë o'brien+mfa@example.com")
        #expect(uri.hasPrefix("otpauth://totp/Hall%20Pass%20%26%20Co:zo%C3%AB%20o%27brien%2Bmfa%40example.com?secret="))
        #expect(uri.hasSuffix("&issuer=Hall%20Pass%20%26%20Co&algorithm=SHA512&digits=8&period=60"))
        // The secret is unpadded capital base32.
        #expect(!uri.contains("=&") && !uri.contains("%3D"))
    }

    @Test("description, debugDescription and dump never show the secret")
    func redaction() throws {
        let secret = try TOTP.generateSecret()
        let totp = TOTP(secret: secret)
        let forms = [
            totp.description, String(reflecting: totp), "\(totp)",
            { var text = ""; dump(totp, to: &text); return text }(),
        ]
        let secretForms = [Base32.encode(secret), Base32.encode(secret).uppercased(), hexString(secret), "\(secret)"]
        for form in forms {
            #expect(form.contains("redacted"), "\(form)")
            for secretForm in secretForms { #expect(!form.contains(secretForm)) }
        }
    }
}

extension TOTPTests {
    @Test("checking at the ends of the clock's range does not trap")
    func extremes() {
        let totp = TOTP(secret: Self.sha1Seed, period: 1)
        #expect(totp.timeStep(at: .max) == .max)
        #expect(totp.matchingTimeStep(of: totp.code(at: .max), at: .max) == .max)
        #expect(totp.matchingTimeStep(of: totp.code(at: .min), at: .min) == .min)
    }
}
