import HTTPTypes
import NIOCore
import NIOHTTP1
import HummingbirdCore

/// Answers a request head over ``ConnectionLimits/maximumHeaderBytes`` or
/// ``ConnectionLimits/maximumHeaderCount`` with 431 Request Header Fields Too Large (RFC 6585
/// section 5) and closes the connection; counts the other malformed requests.
///
/// NIO's decoder enforces both limits but reports them as a parse error like any other, which
/// Hummingbird answers 400: correct, but it does not tell a client with too many cookies what
/// is wrong. Other parse errors (garbage, both Content-Length and Transfer-Encoding) are left
/// to Hummingbird, which answers 400 and closes the connection, as RFC 9112 section 6.3
/// requires; the decoder reads nothing after the error, so a smuggled request is never
/// answered.
final class HeaderOverflowReply: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = RequestPart
    typealias InboundOut = RequestPart
    typealias OutboundIn = ResponsePart
    typealias OutboundOut = ResponsePart

    private static let response = HTTPResponse(
        status: .init(code: 431, reasonPhrase: "Request Header Fields Too Large"),
        headerFields: [.connection: "close", .contentLength: "0"])

    private let metrics: HubMetrics
    /// Requests read whose response has not ended: a 431 must not cut into one.
    private var unanswered = 0
    /// Once the 431 is out, everything else of the connection is ignored until it closes.
    private var replied = false

    init(metrics: HubMetrics) { self.metrics = metrics }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !replied else { return }
        if case .head = unwrapInboundIn(data) { unanswered += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { unanswered -= 1 }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !replied else { return }
        guard let parseError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard parseError == .headerOverflow, unanswered == 0 else {
            metrics.connectionClosed(.badRequest)
            context.fireErrorCaught(error)
            return
        }
        replied = true
        metrics.connectionClosed(.headerTooLarge)
        context.write(wrapOutboundOut(.head(Self.response)), promise: nil)
        // Closing only the output, as Hummingbird does after its 400: a full close with the
        // rest of the oversized head unread would reset the connection, and the client could
        // lose the 431 before reading it. The client closes its side on seeing the end; one
        // that does not is closed by the header timeout, whose head never completed.
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(mode: .output, promise: nil)
        }
    }
}
