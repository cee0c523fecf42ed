import Foundation
import HallpassCrypto
import HallpassOTP
import HallpassStore
import Synchronization
import Testing

/// An authenticator app for tests: holds a TOTP secret read off the set-up page and hands out
/// codes the hub has not seen yet. The hub accepts the current step or one either side, each
/// once and only later than the last, so a test that needs more than two codes in one
/// 30-second step waits for the next one here.
final class TestAuthenticator: Sendable {
    let totp: TOTP
    /// The secret's bytes, as the page showed them.
    let secret: [UInt8]
    private let lastStep = Mutex<Int64>(Int64.min)

    init(secretText: String) throws {
        let compact = secretText.filter { !$0.isWhitespace }
        secret = try #require(Base32.decode(compact.lowercased()), "the set-up page's secret is not base32")
        totp = TOTP(secret: secret)
    }

    /// The secret shown on a set-up page (`id="totp-secret"`).
    static func secret(inPage html: String) throws -> String {
        let marker = #"id="totp-secret">"#
        let start = try #require(html.range(of: marker), "no totp-secret element in the page").upperBound
        let end = try #require(html[start...].firstIndex(of: "<"))
        return String(html[start..<end])
    }

    /// A code for a step later than any handed out before, waiting for time to pass if needed.
    func freshCode() async throws -> String {
        while true {
            let now = Int64(Date().timeIntervalSince1970)
            let current = totp.timeStep(at: now)
            let step: Int64? = lastStep.withLock { last in
                let candidate = max(current, last + 1)
                guard candidate <= current + 1 else { return nil }
                last = candidate
                return candidate
            }
            if let step { return totp.code(forTimeStep: step) }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// A code the hub accepted already (for replay tests): the last one handed out.
    func lastCode() -> String { totp.code(forTimeStep: lastStep.withLock { $0 }) }
}

/// The recovery codes of a recovery-codes page.
func recoveryCodes(inPage html: String) -> [String] {
    guard let list = html.range(of: #"id="recovery-codes">"#) else { return [] }
    var codes: [String] = []
    var rest = html[list.upperBound...]
    while let open = rest.range(of: "<code>"), let close = rest[open.upperBound...].range(of: "</code>") {
        codes.append(String(rest[open.upperBound..<close.lowerBound]))
        rest = rest[close.upperBound...]
        if rest.hasPrefix("</li>\n</ol>") { break }
    }
    return codes
}

/// The CSRF field of a hub page with several forms (each carries the same token; a POST sends
/// it once: the hub refuses repeated parameters).
func csrfField(_ html: String) -> [(String, String)] {
    Array(hiddenFields(html).filter { $0.0 == "csrf" }.prefix(1))
}
