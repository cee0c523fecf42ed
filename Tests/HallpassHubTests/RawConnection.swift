import Foundation
import HallpassTestSupport
import NIOCore
import NIOPosix
import Synchronization

/// A plain TCP connection to a hub, for what no HTTP client sends: idle sockets, headers a byte
/// at a time, malformed and pipelined requests. Everything the hub sends back is kept.
struct RawConnection: Sendable {
    let channel: any Channel
    private let received: Received

    /// Connects to the hub on loopback `port`.
    static func open(port: Int) async throws -> RawConnection {
        let received = Received()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(received) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, received: received)
    }

    /// Sends `text` as it is.
    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Whether the hub (or this side) has closed the connection.
    var isClosed: Bool { !channel.isActive }

    /// What the hub has sent so far.
    var text: String { received.text }

    /// Waits until the hub closes the connection; returns all it sent. Fails after `seconds`.
    func untilClosed(seconds: Double = 10) async throws -> String {
        try await waitUntil("the hub closing the connection", seconds: seconds) { isClosed }
        return text
    }

    /// Closes this side.
    func close() async {
        try? await channel.close()
    }

    /// The status codes of the responses the hub sent, in order. Found by their status line
    /// (`HTTP/1.1 NNN`) anywhere in the text: a pipelined response follows the body before it
    /// with no line break.
    var statusCodes: [Int] {
        text.components(separatedBy: "HTTP/1.1 ").dropFirst().compactMap { Int($0.prefix(3)) }
    }

    /// Collects the bytes the hub sends.
    private final class Received: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        private let bytes = Mutex<[UInt8]>([])

        var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLock { $0.append(contentsOf: buffer.readableBytesView) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A reset from the hub: the connection is closed, which is what tests look for.
            context.close(promise: nil)
        }
    }
}

/// File descriptors this process has open (the hub of these tests runs in it).
func openFileDescriptors() throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
}

/// The value of `hallpass_connections_closed_total{reason="<reason>"}` in a `/metrics` text, 0 if absent.
func connectionsClosed(_ metrics: String, reason: String) -> Int {
    let prefix = "hallpass_connections_closed_total{reason=\"\(reason)\"} "
    guard let line = metrics.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
    return Int(line.dropFirst(prefix.count)) ?? 0
}
