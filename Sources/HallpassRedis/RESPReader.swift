// The reply side of hiredis, apart from RESPCodec.swift (which needs SwiftNIO's ByteBuffer) so
// that the `resp` fuzz target compiles it alone. Everything hiredis hands out here (reader state,
// reply trees) is owned and freed in this file.

import CHiredis

/// An incremental RESP parser: feed it bytes as they arrive, take out complete replies.
///
/// Owned by exactly one channel handler and used only on its event loop, hence not `Sendable`.
final class RESPReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() throws(RedisError) {
        guard let reader = redisReaderCreate() else {
            throw RedisError.protocolError("hiredis could not allocate a reply reader")
        }
        self.reader = reader
    }

    deinit {
        redisReaderFree(self.reader)
    }

    /// Hands `bytes` to the parser, which copies them.
    func feed(_ bytes: UnsafeRawBufferPointer) throws(RedisError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let status = redisReaderFeed(self.reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        guard status == hallpass_REDIS_OK else { throw self.readerError() }
    }

    /// The next complete reply, or `nil` when more bytes are needed.
    ///
    /// After a protocol error the reader stays broken: the stream cannot be resynchronised, so the
    /// owner must close the connection.
    func next() throws(RedisError) -> RedisValue? {
        var reply: UnsafeMutableRawPointer?
        guard redisReaderGetReply(self.reader, &reply) == hallpass_REDIS_OK else { throw self.readerError() }
        guard let reply else { return nil }
        defer { freeReplyObject(reply) }
        return try Self.value(of: reply.assumingMemoryBound(to: redisReply.self))
    }

    private func readerError() -> RedisError {
        guard let message = hallpass_redisReaderErrorString(self.reader) else {
            return .protocolError("unparseable reply")
        }
        return .protocolError(String(cString: message))
    }

    private static func value(of reply: UnsafeMutablePointer<redisReply>) throws(RedisError) -> RedisValue {
        let node = reply.pointee
        switch node.type {
        case hallpass_REDIS_REPLY_STRING:
            return .bulkString(Array(Self.bytes(of: node)))
        case hallpass_REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: Self.bytes(of: node), as: UTF8.self))
        case hallpass_REDIS_REPLY_ERROR:
            return .error(String(decoding: Self.bytes(of: node), as: UTF8.self))
        case hallpass_REDIS_REPLY_INTEGER:
            return .integer(Int64(node.integer))
        case hallpass_REDIS_REPLY_NIL:
            return .null
        case hallpass_REDIS_REPLY_ARRAY:
            var elements: [RedisValue] = []
            elements.reserveCapacity(node.elements)
            for index in 0..<node.elements {
                guard let element = node.element?[index] else {
                    throw RedisError.protocolError("array reply with a missing element")
                }
                elements.append(try Self.value(of: element))
            }
            return .array(elements)
        default:
            throw RedisError.protocolError("reply of unknown type \(node.type)")
        }
    }

    private static func bytes(of node: redisReply) -> UnsafeRawBufferPointer {
        guard let str = node.str else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: str, count: node.len)
    }
}
