import Foundation
import HallpassCrypto
import HallpassOTP
import HallpassTestSupport
import Testing

/// Hallpass's TOTP against pyotp, code nobody here wrote, in both directions: pyotp reads our
/// provisioning URI and must compute our codes, and our TOTP must compute the codes of a secret
/// pyotp generated. This is what an authenticator app does with the QR code, so it catches a
/// misread Key Uri Format (label encoding, base32 case or padding, parameter names) as well as a
/// wrong algorithm.
@Suite("Interop with pyotp")
struct PyOTPInteropTests {
    /// Reads a URI and some times from argv; prints what pyotp made of the URI and its codes.
    static let parseURIScript = """
        import json, sys, pyotp
        otp = pyotp.parse_uri(sys.argv[1])
        print(json.dumps({
            "name": otp.name, "issuer": otp.issuer, "digits": otp.digits, "interval": otp.interval,
            "codes": [otp.at(int(t)) for t in sys.argv[2:]],
        }))
        """

    struct Parsed: Decodable {
        let name: String
        let issuer: String
        let digits: Int
        let interval: Int
        let codes: [String]
    }

    struct Configuration: Sendable, CustomTestStringConvertible {
        let digits: Int
        let period: Int64
        let algorithm: TOTP.Algorithm
        var testDescription: String { "\(algorithm.rawValue), \(digits) digits, \(period) s" }
    }

    @Test(
        "pyotp reads our provisioning URI and computes our codes",
        arguments: [
            Configuration(digits: 6, period: 30, algorithm: .sha1),
            Configuration(digits: 8, period: 60, algorithm: .sha256),
            Configuration(digits: 7, period: 15, algorithm: .sha512),
        ]
    )
    func pyotpReadsOurURI(_ configuration: Configuration) async throws {
        // Throws when HALLPASS_PYTHON is unset: a skipped interop check would read like a passed one.
        let python = try InteropPython.executable()
        let totp = TOTP(
            secret: try TOTP.generateSecret(),
            digits: configuration.digits,
            period: configuration.period,
            algorithm: configuration.algorithm
        )
        let issuer = "Hallpass Test & Co."
        let account = "zoë.o'brien+mfa@example.com"
        let uri = totp.provisioningURI(issuer: issuer, account: account)
        let now = Int64(Date().timeIntervalSince1970)
        let times: [Int64] = [0, 59, 1_111_111_109, 1_234_567_890, 2_000_000_000, 20_000_000_000, now - 30, now, now + 30]

        let output = try await runProcess(python, ["-c", Self.parseURIScript, uri] + times.map(String.init))
        try #require(output.status == 0, "pyotp failed on \(uri):\n\(output.standardError)")
        let parsed = try JSONDecoder().decode(Parsed.self, from: Data(output.standardOutput.utf8))
        #expect(parsed.name == account)
        #expect(parsed.issuer == issuer)
        #expect(parsed.digits == configuration.digits)
        #expect(parsed.interval == Int(configuration.period))
        #expect(parsed.codes == times.map { totp.code(at: $0) })
    }

    @Test("our TOTP accepts the current code of a secret pyotp generated")
    func weReadPyOTPSecrets() async throws {
        let python = try InteropPython.executable()
        let script = """
            import json, time, pyotp
            secret = pyotp.random_base32()
            totp = pyotp.TOTP(secret)
            t = int(time.time())
            print(json.dumps({"secret": secret, "time": t, "at": totp.at(t), "now": totp.now(),
                              "uri": totp.provisioning_uri(name="alice@example.com", issuer_name="Hallpass")}))
            """
        struct Generated: Decodable {
            let secret: String
            let time: Int64
            let at: String
            let now: String
            let uri: String
        }
        for _ in 0..<3 {
            let output = try await runProcess(python, ["-c", script])
            try #require(output.status == 0, "pyotp failed:\n\(output.standardError)")
            let generated = try JSONDecoder().decode(Generated.self, from: Data(output.standardOutput.utf8))
            // pyotp's secrets are capital base32 of 20 bytes (32 characters, no padding needed).
            let secret = try #require(Base32.decode(generated.secret.lowercased()), "\(generated.secret)")
            #expect(secret.count == 20)
            let totp = TOTP(secret: secret)
            #expect(totp.code(at: generated.time) == generated.at)
            // now() was taken a moment after `time`, possibly in the next step: the drift window
            // accepts it at Swift's clock, which is what a login does with a typed code.
            let swiftNow = Int64(Date().timeIntervalSince1970)
            let step = try #require(totp.matchingTimeStep(of: generated.now, at: swiftNow))
            #expect(abs(step - totp.timeStep(at: swiftNow)) <= 1)
            // And pyotp's own URI for that secret describes the same TOTP as ours.
            #expect(totp.provisioningURI(issuer: "Hallpass", account: "alice@example.com")
                .hasPrefix("otpauth://totp/Hallpass:alice%40example.com?secret=\(generated.secret)"))
            #expect(generated.uri.contains("secret=\(generated.secret)"))
        }
    }
}
