import Logging
import NIOCore

/// A command that was written and now waits for its reply.
struct PendingReply: Sendable {
    /// Succeeds with the reply (error replies included, as ``RedisValue/error(_:)``); fails only
    /// with a ``RedisError`` about the connection.
    let promise: EventLoopPromise<RedisValue>
    /// When the reply is overdue.
    let deadline: NIODeadline
}

/// Encoded commands and their reply promises, in the same order, written as one unit.
///
/// Batching is what lets many concurrent callers share one write and one flush.
struct RedisRequestBatch: Sendable {
    var bytes: ByteBuffer
    var replies: [PendingReply]
}

/// Matches replies to commands on one connection.
///
/// Redis answers in request order, so replies complete the pending queue's head one by one. Once
/// that order is in doubt (a timeout, a protocol error, a closed socket) every pending command is
/// failed and the connection closed: a reply can never complete the wrong command.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequestBatch
    typealias OutboundOut = ByteBuffer

    private enum State {
        case open
        case closed
    }

    private var state = State.open
    private var pending = CircularBuffer<PendingReply>(initialCapacity: 64)
    private let reader: RESPReader
    private let logger: Logger
    private var context: ChannelHandlerContext?
    // One timer for the whole queue, set for the earliest deadline it knows of. With the default
    // timeout deadlines grow along the queue, so most writes leave the timer alone, where a timer
    // per command would cost an allocation and a heap insertion and removal each.
    private var timeoutCheck: Scheduled<Void>?
    private var timeoutCheckDeadline = NIODeadline.distantFuture

    /// "host:port" of a TLS connection, whose errors after the handshake (a server refusing the
    /// client certificate) are reported as TLS failures; `nil` in plaintext.
    private let tlsAddress: String?

    /// Whether a `READONLY` or `UNBLOCKED` reply closes the connection: set for a master found
    /// through Sentinel, which such a reply shows to have been demoted.
    private let closesOnRoleChange: Bool

    init(logger: Logger, tlsAddress: String? = nil, closesOnRoleChange: Bool = false) throws(RedisError) {
        self.reader = try RESPReader()
        self.logger = logger
        self.tlsAddress = tlsAddress
        self.closesOnRoleChange = closesOnRoleChange
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.failAll(with: .connectionClosed)
        self.context = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let batch = self.unwrapOutboundIn(data)
        guard case .open = self.state else {
            for reply in batch.replies {
                reply.promise.fail(RedisError.connectionClosed)
            }
            promise?.fail(RedisError.connectionClosed)
            return
        }
        var earliest = NIODeadline.distantFuture
        for reply in batch.replies {
            self.pending.append(reply)
            earliest = min(earliest, reply.deadline)
        }
        self.scheduleTimeoutCheck(at: earliest, context: context)
        context.write(self.wrapOutboundOut(batch.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .open = self.state else { return }
        do throws(RedisError) {
            try self.reader.feed(self.unwrapInboundIn(data))
            // Completing a promise runs its callbacks right here, and one of them may close the
            // channel; re-check the state before every reply.
            while case .open = self.state, let value = try self.reader.next() {
                guard let head = self.pending.popFirst() else {
                    throw RedisError.protocolError("received a reply with no command waiting for it")
                }
                if self.closesOnRoleChange, case .error(let message) = value, let code = Self.roleChangeCode(message) {
                    // The server is no longer the master (a failover demoted it, or a client was
                    // unblocked because of it). The reply still goes to its command, as any error
                    // reply does; closing first means the caller already sees the connection
                    // inactive, and the next command reconnects, which asks the Sentinels again.
                    self.logger.warning(
                        "Redis is no longer the master; closing the connection to find the new one",
                        metadata: ["redis.reply": "\(code)"])
                    self.closeAndFailPending(context: context) { _ in .connectionClosed }
                    head.promise.succeed(value)
                    return
                }
                head.promise.succeed(value)
            }
        } catch {
            self.logger.warning(
                "closing Redis connection after a protocol error",
                metadata: ["error": "\(error)"]
            )
            self.closeAndFailPending(context: context) { _ in error }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(with: .connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Connection-level I/O errors (a reset, a broken pipe): the stream is unusable.
        self.logger.debug("Redis connection error", metadata: ["error": "\(error)"])
        var failure = RedisError.connectionClosed
        if let address = self.tlsAddress, let reason = RedisTLS.failureAfterHandshake(error) {
            failure = .tlsHandshakeFailed(address: address, reason: reason)
        }
        self.closeAndFailPending(context: context) { _ in failure }
    }

    /// `READONLY` or `UNBLOCKED` when `message` starts with one of them, else `nil`.
    private static func roleChangeCode(_ message: String) -> Substring? {
        let code = message.prefix { $0 != " " }
        return code == "READONLY" || code == "UNBLOCKED" ? code : nil
    }

    private func scheduleTimeoutCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        guard deadline < self.timeoutCheckDeadline else { return }
        self.timeoutCheck?.cancel()
        self.timeoutCheckDeadline = deadline
        self.timeoutCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.checkTimeouts()
        }
    }

    private func checkTimeouts() {
        self.timeoutCheck = nil
        self.timeoutCheckDeadline = .distantFuture
        guard case .open = self.state, let context = self.context else { return }

        let now = NIODeadline.now()
        var earliest = NIODeadline.distantFuture
        for reply in self.pending {
            earliest = min(earliest, reply.deadline)
        }
        guard earliest <= now else {
            // Nothing is overdue: the commands the timer was set for have been answered.
            if !self.pending.isEmpty {
                self.scheduleTimeoutCheck(at: earliest, context: context)
            }
            return
        }

        self.logger.warning(
            "Redis command timed out; closing the connection",
            metadata: ["pending": "\(self.pending.count)"]
        )
        // Only the overdue commands timed out; the others are victims of the close.
        self.closeAndFailPending(context: context) { reply in
            reply.deadline <= now ? .commandTimedOut : .connectionClosed
        }
    }

    /// Closes the channel, then fails every pending command with the error `reason` gives it.
    ///
    /// Closing first means that whoever the failures wake up already sees the connection as
    /// inactive, and so does not send it anything more.
    private func closeAndFailPending(context: ChannelHandlerContext, reason: (PendingReply) -> RedisError) {
        let replies = self.pending
        self.pending.removeAll()
        self.state = .closed
        self.cancelTimeoutCheck()
        context.close(promise: nil)
        for reply in replies {
            reply.promise.fail(reason(reply))
        }
    }

    private func failAll(with error: RedisError) {
        self.state = .closed
        self.cancelTimeoutCheck()
        // Pop one at a time: a failed promise's callbacks may re-enter this handler.
        while let reply = self.pending.popFirst() {
            reply.promise.fail(error)
        }
    }

    private func cancelTimeoutCheck() {
        self.timeoutCheck?.cancel()
        self.timeoutCheck = nil
        self.timeoutCheckDeadline = .distantFuture
    }
}
