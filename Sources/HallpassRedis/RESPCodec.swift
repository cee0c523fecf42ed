// With RESPReader.swift, the only code in Hallpass that talks to hiredis. Everything hiredis hands
// out (C strings, reader state, reply trees) is owned and freed in the two, so the rest of the
// module never sees a pointer.
// hiredis is used strictly for the protocol: SwiftNIO owns the socket, so nothing here blocks.

import CHiredis
import NIOCore

/// Encodes commands into RESP with `redisFormatCommandArgv`.
enum RESPEncoder {
    /// Appends the wire form of `command` to `buffer`.
    static func encode(_ command: RedisCommand, into buffer: inout ByteBuffer) throws(RedisError) {
        try withEncodedBytes(of: command) { (bytes: UnsafeRawBufferPointer) -> Void in
            buffer.writeBytes(bytes)
        }
    }

    /// Formats `command` and lends its wire bytes to `body`; they are freed when `body` returns.
    ///
    /// Lending instead of returning lets a caller copy the bytes straight into a shared buffer
    /// (under a lock) without an intermediate allocation.
    static func withEncodedBytes<Value>(
        of command: RedisCommand,
        _ body: (UnsafeRawBufferPointer) -> Value
    ) throws(RedisError) -> Value {
        let arguments = command.arguments
        guard !arguments.isEmpty else {
            throw RedisError.protocolError("cannot encode a command without a name")
        }
        var totalLength = 0
        for argument in arguments { totalLength += argument.count }
        // hiredis 0.14 computes the formatted length in an `int` without overflow checks; Redis
        // itself caps a request at 512 MiB, so anything near `Int32.max` is a bug anyway.
        guard let argc = Int32(exactly: arguments.count),
            totalLength <= Int(Int32.max) / 2 - 32 * arguments.count
        else {
            throw RedisError.protocolError("command \(command.name) is too large to encode")
        }

        // hiredis wants one pointer and one length per argument. The arguments are separate Swift
        // arrays whose storage is only pinned inside their own closures, so they are first copied
        // into one block; small commands get that block (and the pointer tables) on the stack.
        let capacity = max(totalLength, 1)
        let formatted: Value? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { storage in
            withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: arguments.count) { pointers in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: arguments.count) { lengths in
                    guard let base = storage.baseAddress else { return nil }
                    var offset = 0
                    for (index, argument) in arguments.enumerated() {
                        argument.withUnsafeBytes { source in
                            UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(storage)[offset...])
                                .copyMemory(from: source)
                        }
                        pointers.initializeElement(at: index, to: UnsafePointer(base + offset))
                        lengths.initializeElement(at: index, to: argument.count)
                        offset += argument.count
                    }
                    var target: UnsafeMutablePointer<CChar>?
                    let length = redisFormatCommandArgv(&target, argc, pointers.baseAddress, lengths.baseAddress)
                    guard length >= 0, let target else { return nil }
                    defer { redisFreeCommand(target) }
                    return body(UnsafeRawBufferPointer(start: target, count: Int(length)))
                }
            }
        }
        guard let formatted else {
            // redisFormatCommandArgv only fails when malloc does.
            throw RedisError.protocolError("hiredis could not format command \(command.name)")
        }
        return formatted
    }
}

extension RESPReader {
    /// Hands `buffer`'s readable bytes to the parser, which copies them.
    func feed(_ buffer: ByteBuffer) throws(RedisError) {
        try buffer.withUnsafeReadableBytes { bytes in Result { () throws(RedisError) in try self.feed(bytes) } }.get()
    }
}
