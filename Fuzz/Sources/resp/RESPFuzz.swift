import FuzzSupport
@testable import RESPShim

/// RESP replies through the hiredis reader (RESPReader, which reads every reply from Redis).
/// The first byte gives the number of cuts (0-7), the next bytes where they fall; the rest is
/// the stream. It is read twice, fed in one piece and fed in those pieces (draining the replies
/// after each), and both must give the same replies, then the same error or none. ASan checks
/// the memory the reader and the reply trees use, and LeakSanitizer that every tree is freed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESP(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        guard let selector = input.first else { return }
        let cutCount = min(Int(selector & 7), input.count - 1)
        let cutBytes = input[1..<(1 + cutCount)]
        let stream = UnsafeBufferPointer(rebasing: input[(1 + cutCount)...])
        let cuts = cutBytes.map { stream.isEmpty ? 0 : Int($0) % (stream.count + 1) }.sorted()
        let whole = read(stream, cuts: [])
        let pieces = read(stream, cuts: cuts)
        require(
            whole == pieces,
            "fed whole and fed in pieces at \(cuts) differ: \(whole) vs \(pieces), stream \(Array(stream.prefix(200)))")
    }
    return 0
}

/// What a reader makes of `stream` fed in the pieces between `cuts`.
private struct Reading: Equatable, CustomStringConvertible {
    var replies: [RedisValue] = []
    var error: RedisError?
    var description: String { "\(replies) then \(error.map { "\($0)" } ?? "no error")" }
}

private func read(_ stream: UnsafeBufferPointer<UInt8>, cuts: [Int]) -> Reading {
    var reading = Reading()
    let reader: RESPReader
    do { reader = try RESPReader() } catch { fuzzFailure("no reader: \(error)") }
    var start = 0
    for end in cuts + [stream.count] {
        do {
            try reader.feed(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(stream)[start..<end]))
            while let reply = try reader.next() { reading.replies.append(reply) }
        } catch {
            // A reader that failed stays failed: the connection would be closed here.
            reading.error = error
            return reading
        }
        start = end
    }
    return reading
}
