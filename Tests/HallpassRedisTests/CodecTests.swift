@testable import HallpassRedis
import NIOCore
import Testing

/// The hiredis wrapper on its own, for what a real server will not readily send: replies split
/// at every byte, and bytes that are not RESP.
@Suite("RESP codec")
struct CodecTests {
    @Test func encoderIsBinarySafe() throws {
        var buffer = ByteBuffer()
        try RESPEncoder.encode(RedisCommand("SET", [0, 13, 10] as [UInt8], ""), into: &buffer)
        #expect(buffer == ByteBuffer(string: "*3\r\n$3\r\nSET\r\n$3\r\n\0\r\n\r\n$0\r\n\r\n"))
    }

    @Test func readerReassemblesRepliesFedOneByteAtATime() throws {
        let stream =
            "+OK\r\n:-5\r\n$3\r\na\0b\r\n$0\r\n\r\n$-1\r\n*-1\r\n-ERR bad\r\n*0\r\n"
            + "*2\r\n*2\r\n:1\r\n$1\r\nx\r\n-E nested\r\n"
        let reader = try RESPReader()
        var values: [RedisValue] = []
        for byte in stream.utf8 {
            try reader.feed(ByteBuffer(bytes: [byte]))
            while let value = try reader.next() {
                values.append(value)
            }
        }
        #expect(
            values == [
                .simpleString("OK"),
                .integer(-5),
                .bulkString([UInt8(ascii: "a"), 0, UInt8(ascii: "b")]),
                .bulkString([]),
                .null,
                .null,
                .error("ERR bad"),
                .array([]),
                .array([.array([.integer(1), .bulkString(Array("x".utf8))]), .error("E nested")]),
            ]
        )
    }

    @Test func readerReportsGarbageAsProtocolError() throws {
        let reader = try RESPReader()
        try reader.feed(ByteBuffer(string: "+OK\r\nHTTP/1.1 400 Bad Request\r\n"))
        #expect(try reader.next() == .simpleString("OK"))
        let error = try #require(throws: RedisError.self) { try reader.next() }
        guard case .protocolError(let detail) = error else {
            Issue.record("expected protocolError, got \(error)")
            return
        }
        #expect(detail.contains("Protocol error"))
    }
}
