import NIOCore
import HummingbirdCore

/// Disconnects a client that takes longer than ``ConnectionLimits/headerTimeout`` from the
/// first byte of a request to the end of its head: a slowloris client, which holds a
/// connection open by sending its headers a byte at a time.
///
/// Hummingbird's idle timeout does not catch it soon: it counts from the last decoded HTTP
/// part, so a client that never completes a head is closed only after the (long) idle
/// timeout; and a short idle timeout would close ordinary keep-alive connections early. The
/// timer has to see raw bytes, so this handler sits before the HTTP decoder, and it learns
/// that a head is complete from ``HeaderTimeout/Progress`` events that ``RequestProgress``
/// fires from after the decoder.
///
/// No 408 is written: the connection may still be sending the response to an earlier
/// pipelined request, and a slow client is owed no explanation.
final class HeaderTimeout: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Where the connection's current request is, as the HTTP decoder saw it.
    enum Progress: Sendable {
        /// A request head was decoded: its client was quick enough.
        case headReceived
        /// A request was read to its end: the next byte starts a new head.
        case requestReceived
    }

    private enum State {
        /// No byte of the next request yet: the idle timeout applies, not this one.
        case betweenRequests
        /// The first bytes of a head arrived; the timer runs.
        case readingHead(Scheduled<Void>)
        /// The head is in; the body and the response take what they take.
        case readingRequest
    }

    private let timeout: TimeAmount
    private let metrics: HubMetrics
    private var state = State.betweenRequests

    init(timeout: TimeAmount, metrics: HubMetrics) {
        self.timeout = timeout
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .betweenRequests = state {
            let timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [metrics] in
                metrics.connectionClosed(.headerTimeout)
                context.close(promise: nil)
            }
            state = .readingHead(timer)
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let progress = event as? Progress else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Ours alone: not passed on to the handlers after the decoder, which fired it.
        cancelTimer()
        switch progress {
        case .headReceived: state = .readingRequest
        case .requestReceived: state = .betweenRequests
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
    }

    private func cancelTimer() {
        if case .readingHead(let timer) = state {
            timer.cancel()
            state = .betweenRequests
        }
    }
}

/// Tells ``HeaderTimeout``, before the HTTP decoder, when a request head and a whole request
/// have been decoded; see there why it takes two handlers.
final class RequestProgress: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = RequestPart
    typealias InboundOut = RequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: context.pipeline.syncOperations.fireUserInboundEventTriggered(HeaderTimeout.Progress.headReceived)
        case .body: break
        case .end: context.pipeline.syncOperations.fireUserInboundEventTriggered(HeaderTimeout.Progress.requestReceived)
        }
        context.fireChannelRead(data)
    }
}
