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
        // hiredis allocates an array reply's element table when it reads the header, so
        // `*400000000\r\n` asks calloc for 3.2 GB, over libFuzzer's malloc limit. That is no
        // defect (see docs/FUZZING.md, Findings): the pages are untouched until elements
        // arrive, and a refused calloc is a protocol error. Streams that may declare
        // 10,000,000 elements or more (a `*` then eight digits) are skipped so that the run
        // goes on past it.
        guard !declaresHugeArray(stream) else { return }
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

/// Whether a `*` is followed by eight or more digits anywhere in `stream` (a superset of the
/// array headers of 10,000,000 elements or more; bulk data may match too, which only skips it).
private func declaresHugeArray(_ stream: UnsafeBufferPointer<UInt8>) -> Bool {
    var digits = -1
    for byte in stream {
        if byte == UInt8(ascii: "*") {
            digits = 0
        } else if digits >= 0, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            digits += 1
            if digits >= 8 { return true }
        } else {
            digits = -1
        }
    }
    return false
}
