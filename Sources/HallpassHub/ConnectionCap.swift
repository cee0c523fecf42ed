import NIOCore
import Synchronization

/// Keeps the hub's open client connections at or under ``ConnectionLimits/maximumConnections``:
/// a connection beyond it is answered 503 and closed as soon as it is accepted.
///
/// Nothing in Hummingbird or NIO caps connections (the listen backlog only queues them), and
/// every connection holds a file descriptor and some memory until it closes: a thousand idle
/// or slow clients would otherwise run the hub out of descriptors, after which it can neither
/// accept ordinary clients nor reach Redis. Refusing the newest connections keeps the ones
/// already open, and the hub, working.
///
/// First in the pipeline, so a refused connection's bytes never reach the HTTP decoder.
final class ConnectionCap: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The open connections of one hub, shared by all its event loops.
    final class Tally: Sendable {
        let maximum: Int
        private let open = Atomic<Int>(0)

        init(maximum: Int) { self.maximum = maximum }

        /// Counts a connection in; returns the count with it.
        func admit() -> Int { open.wrappingAdd(1, ordering: .relaxed).newValue }
        /// Counts a connection out; returns the count without it.
        func release() -> Int { open.wrappingSubtract(1, ordering: .relaxed).newValue }
    }

    /// Written to a refused connection before it is closed, so the client learns why rather
    /// than seeing a bare reset. No request has been read: nothing else can be writing.
    private static let refusal = ByteBuffer(
        string: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 1\r\n\r\n")

    private let tally: Tally
    private let metrics: HubMetrics
    private var counted = false
    private var refused = false

    init(tally: Tally, metrics: HubMetrics) {
        self.tally = tally
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if counted {
            counted = false
            metrics.openConnections(tally.release())
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A refused client's request is dropped unread: it must get no answer but the 503.
        guard !refused else { return }
        context.fireChannelRead(data)
    }

    private func admit(context: ChannelHandlerContext) {
        guard !counted else { return }
        counted = true
        let open = tally.admit()
        guard open > tally.maximum else {
            metrics.openConnections(open)
            return
        }
        refused = true
        metrics.connectionClosed(.maximumConnections)
        context.writeAndFlush(wrapOutboundOut(Self.refusal)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}
