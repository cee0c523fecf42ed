import Foundation
import Testing

@testable import Hallpass

/// What a validator's mirror of the revocation records costs in its process's heap, for the
/// sizing plan in docs/DEPLOYMENT.md.
@Suite("Validator memory per revocation record")
struct MirrorMemoryTests {
    /// The process's resident memory (bytes), from `/proc/self/statm`. Other suites of the same
    /// test run allocate meanwhile too, so the bound below is loose; `ops/test --filter
    /// MirrorMemoryTests` gives the figure alone.
    static func heapInUse() -> Int {
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test("an ended session or a revoked token id costs the mirror under 1 KiB of memory")
    func mirrorMemoryPerRecord() {
        let count = 200_000
        var state = RevocationState()
        let before = Self.heapInUse()
        for index in 0..<count {
            // Session ids are 26 characters of base32; token ids 22 of base64url.
            let sid = String("s\(index)aaaaaaaaaaaaaaaaaaaaaaaaa".prefix(26))
            state.sessions[sid] = RevocationState.SessionRecord(endedUntil: Int64(index))
        }
        let sessions = Self.heapInUse()
        for index in 0..<count {
            state.tokenIDs[String("j\(index)bbbbbbbbbbbbbbbbbbbbb".prefix(22))] = Int64(index)
        }
        let tokens = Self.heapInUse()
        let perSession = Double(sessions - before) / Double(count)
        let perToken = Double(tokens - sessions) / Double(count)
        print("validator memory per ended session: \(Int(perSession)) bytes; per revoked token id: \(Int(perToken)) bytes")
        #expect(state.sessions.count == count && state.tokenIDs.count == count)
        #expect(perSession > 0 && perSession < 1024)
        #expect(perToken > 0 && perToken < 1024)
    }
}
