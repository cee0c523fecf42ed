import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

// The channel handlers around a TLS handshake to Redis: the plaintext probe in front of
// NIOSSLClientHandler and the watcher behind it (see RedisTLS.addHandlers).

/// A failed handshake: the error NIO reported, and whether the server had answered in plaintext.
struct TLSHandshakeFailure: Error {
    let underlying: any Error
    let sawPlaintext: Bool
}

/// Looks at the first byte the server sends, before TLS does: a TLS server's first record is a
/// handshake or an alert (content types 20...23), while a plaintext Redis answers with a RESP
/// reply (`-ERR ...`). That tells "not TLS at all" apart from a broken TLS server for sure.
final class TLSPlaintextProbe: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The server's first bytes were not a TLS record.
    struct PlaintextReply: Error {}

    private(set) var sawPlaintext = false
    private(set) var sawAnyBytes = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        guard let first = buffer.readableBytesView.first else {
            context.fireChannelRead(data)
            return
        }
        self.sawAnyBytes = true
        self.sawPlaintext = !(20...23).contains(first)
        if self.sawPlaintext {
            // TLS would take "-ERR" for a record header announcing 20 KB and wait for them; a
            // plaintext Redis answers a ClientHello with an error reply and keeps the connection
            // open, so the handshake would only end at the connect timeout.
            context.fireErrorCaught(PlaintextReply())
            context.close(promise: nil)
            return
        }
        // Passed on before leaving: once removed, this context forwards nothing.
        context.fireChannelRead(data)
        // One byte decides; later reads need not pass through here.
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// Completes a promise when the TLS handshake does, fails it when the handshake fails or takes
/// past the connect deadline, then leaves the pipeline.
final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let probe: TLSPlaintextProbe
    private let promise: EventLoopPromise<Void>
    private let deadline: NIODeadline
    private var timeout: Scheduled<Void>?
    private var silenceCheck: Scheduled<Void>?
    private var isDone = false

    /// How long a server may stay silent after the ClientHello before a plaintext `PING` on a
    /// second connection asks whether it is a plaintext Redis: one waits for the end of a line
    /// that a ClientHello seldom contains, and would otherwise hold the handshake until the
    /// connect timeout.
    static let silenceBeforePlaintextCheck = TimeAmount.milliseconds(300)

    var future: EventLoopFuture<Void> { self.promise.futureResult }

    init(probe: TLSPlaintextProbe, promise: EventLoopPromise<Void>, deadline: NIODeadline) {
        self.probe = probe
        self.promise = promise
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let promise = self.promise
        let channel = context.channel
        self.timeout = context.eventLoop.scheduleTask(deadline: self.deadline) {
            promise.fail(RedisError.connectTimedOut)
            channel.close(promise: nil)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        let checkAt = min(NIODeadline.now() + Self.silenceBeforePlaintextCheck, self.deadline)
        self.silenceCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: checkAt) {
            self.checkSilence(context: context)
        }
        context.fireChannelActive()
    }

    private func checkSilence(context: ChannelHandlerContext) {
        guard !self.isDone, !self.probe.sawAnyBytes, let address = context.channel.remoteAddress else { return }
        TLSPlaintextProbe.answersPlaintextPing(at: address, on: context.eventLoop, deadline: self.deadline)
            .assumeIsolated()
            .whenSuccess { isPlaintext in
                guard isPlaintext, !self.isDone else { return }
                self.finish(.failure(TLSHandshakeFailure(underlying: TLSPlaintextProbe.PlaintextReply(), sawPlaintext: true)))
                context.close(promise: nil)
            }
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !self.isDone else { return }
        self.isDone = true
        self.timeout?.cancel()
        self.silenceCheck?.cancel()
        self.promise.completeWith(result)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Only a removal before the handshake ended gets here undone; no one may wait forever.
        self.finish(.failure(TLSHandshakeFailure(underlying: ChannelError.ioOnClosedChannel, sawPlaintext: self.probe.sawPlaintext)))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            self.finish(.success(()))
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.finish(.failure(TLSHandshakeFailure(underlying: error, sawPlaintext: self.probe.sawPlaintext)))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.finish(.failure(TLSHandshakeFailure(underlying: ChannelError.eof, sawPlaintext: self.probe.sawPlaintext)))
        context.fireChannelInactive()
    }
}

extension TLSPlaintextProbe {
    /// Whether the server at `address` answers a plaintext `PING` with a RESP reply (`+PONG`,
    /// `-NOAUTH ...`): then it is a plaintext Redis. Sends nothing secret; false on any doubt.
    static func answersPlaintextPing(
        at address: SocketAddress,
        on eventLoop: any EventLoop,
        deadline: NIODeadline
    ) -> EventLoopFuture<Bool> {
        let answer = eventLoop.makePromise(of: Bool.self)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(max(deadline - .now(), .milliseconds(1)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PlaintextPing(answer: answer))
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case .failure:
                    answer.succeed(false)
                case .success(let channel):
                    let cutOff = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
                    channel.closeFuture.whenComplete { _ in
                        cutOff.cancel()
                        answer.succeed(false)
                    }
                }
            }
        return answer.futureResult
    }

    /// Sends `PING` and reports whether the first byte back starts a RESP reply.
    private final class PlaintextPing: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private let answer: EventLoopPromise<Bool>

        init(answer: EventLoopPromise<Bool>) {
            self.answer = answer
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: "PING\r\n")), promise: nil)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = self.unwrapInboundIn(data)
            if let first = buffer.readableBytesView.first {
                self.answer.succeed(Array("+-:$*".utf8).contains(first))
                context.close(promise: nil)
            }
        }
    }
}
