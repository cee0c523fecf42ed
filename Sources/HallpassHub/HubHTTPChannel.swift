import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1.1 connection, with the limits of ``ConnectionLimits`` around it.
///
/// Hummingbird's own pieces do most of it: the decoder limits on the head (answered 431 by
/// ``HeaderOverflowReply``) and the idle timeout for keep-alive connections. What it lacks is
/// added before its handlers: a cap on open connections (``ConnectionCap``) and a deadline for
/// a request head (``HeaderTimeout``).
struct HubHTTPChannel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    private let http: HTTP1Channel
    private let tally: ConnectionCap.Tally
    private let headerTimeout: TimeAmount
    private let metrics: HubMetrics

    init(responder: @escaping HTTPChannelHandler.Responder, limits: ConnectionLimits, maximumConnections: Int, metrics: HubMetrics) {
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: limits.maximumHeaderBytes, maxHeaderListSize: limits.maximumHeaderBytes,
            maxHeaderFieldCount: limits.maximumHeaderCount)
        http = HTTP1Channel(
            responder: responder,
            configuration: .init(
                additionalChannelHandlers: [HeaderOverflowReply(metrics: metrics), RequestProgress()],
                idleTimeout: .seconds(limits.idleTimeout), httpDecoderConfiguration: decoder))
        tally = ConnectionCap.Tally(maximum: maximumConnections)
        headerTimeout = .seconds(limits.headerTimeout)
        self.metrics = metrics
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        // Called on the channel's event loop, before Hummingbird's setup adds its handlers:
        // these two end up first, next to the socket.
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ConnectionCap(tally: tally, metrics: metrics))
            try channel.pipeline.syncOperations.addHandler(HeaderTimeout(timeout: headerTimeout, metrics: metrics))
        }.flatMap {
            http.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await http.handle(value: value, logger: logger)
    }
}

/// A part of a request as Hummingbird's HTTP/1.1 channel decodes it (NIOHTTPTypes'
/// `HTTPRequestPart`), named through the channel so the hub needs no direct dependency on
/// swift-nio-extras.
typealias RequestPart = HTTP1Channel.Value.InboundElement
/// A part of a response as Hummingbird's HTTP/1.1 channel encodes it (`HTTPResponsePart`).
typealias ResponsePart = HTTP1Channel.Value.OutboundElement

extension NIOAsyncChannel {
    /// What the channel reads.
    typealias InboundElement = Inbound
    /// What the channel writes.
    typealias OutboundElement = Outbound
}
