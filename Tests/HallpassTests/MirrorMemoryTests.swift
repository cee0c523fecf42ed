import Glibc
import Testing

@testable import Hallpass

/// What a validator's mirror of the revocation records costs in its process's heap, for the
/// sizing plan in docs/DEPLOYMENT.md.
@Suite("Validator memory per revocation record")
struct MirrorMemoryTests {
    /// Bytes the process's allocator has handed out (glibc's `mallinfo2`).
    static func heapInUse() -> Int { Int(mallinfo2().uordblks) }

    @Test("an ended session or a revoked token id costs the mirror under 400 bytes of heap")
    func mirrorMemoryPerRecord() {
        let count = 100_000
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
        #expect(perSession > 0 && perSession < 400)
        #expect(perToken > 0 && perToken < 400)
    }
}
