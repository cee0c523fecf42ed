import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import NIOCore
import Synchronization

/// A member app's OIDC back-channel logout endpoint, for tests: a tiny HTTP server on a
/// loopback port that records every `POST /backchannel-logout` and answers with a status the
/// test sets. It can be stopped and started again on the same port, to play an app that is down.
public final class LogoutReceiver: Sendable {
    /// One received request.
    public struct Delivery: Sendable {
        /// The `logout_token` form parameter, if present.
        public var logoutToken: String?
        /// The `Content-Type` header.
        public var contentType: String?
        /// The raw body.
        public var body: String
    }

    /// The port it listens on (chosen up front, so it stays the same across restarts).
    public let port: Int
    private let state = Mutex<(deliveries: [Delivery], status: Int, hits: Int)>(([], 200, 0))
    private let running = Mutex<(task: Task<Void, any Error>, group: ServiceGroup)?>(nil)

    /// A receiver on a free loopback port, not started yet.
    public init() throws {
        port = try freeLoopbackPort()
    }

    /// The URI to register as the client's `backchannel_logout_uri`.
    public var uri: String { "http://127.0.0.1:\(port)/backchannel-logout" }

    /// The requests answered 2xx so far (what the app "acknowledged").
    public var acknowledged: [Delivery] { state.withLock { $0.deliveries } }
    /// Every POST that reached it, whatever it answered.
    public var hits: Int { state.withLock { $0.hits } }

    /// The status the next requests get (200 by default).
    public func answer(_ status: Int) { state.withLock { $0.status = status } }

    /// Starts listening; returns once the port is bound.
    public func start() async throws {
        let router = Router()
        router.post("/backchannel-logout") { [self] request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            let body = String(buffer: buffer)
            var token: String?
            for pair in body.split(separator: "&") where pair.hasPrefix("logout_token=") {
                token = String(pair.dropFirst("logout_token=".count))
            }
            let status = record(Delivery(logoutToken: token, contentType: request.headers[.contentType], body: body))
            return Response(status: HTTPResponse.Status(code: status), headers: [.cacheControl: "no-store"])
        }
        var logger = Logger(label: "logout-receiver")
        logger.logLevel = .critical
        let (bound, continuation) = AsyncStream.makeStream(of: Void.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { _ in continuation.yield() }, logger: logger)
        // Stopped by a graceful shutdown, not by cancelling: a connection accepted while a
        // cancelled server tears down trips a fatal error in NIO's async channel, and the hub's
        // retries reach a receiver exactly while it stops.
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        running.withLock { $0 = (task, group) }
        var iterator = bound.makeAsyncIterator()
        guard await iterator.next() != nil else { throw TestSupportErrorBox(description: "logout receiver did not start on \(port)") }
    }

    private func record(_ delivery: Delivery) -> Int {
        state.withLock { state -> Int in
            state.hits += 1
            if (200..<300).contains(state.status) { state.deliveries.append(delivery) }
            return state.status
        }
    }

    /// Stops listening (connections are refused from then on).
    public func stop() async {
        guard let running = running.withLock({ state -> (task: Task<Void, any Error>, group: ServiceGroup)? in
            defer { state = nil }
            return state
        }) else { return }
        await running.group.triggerGracefulShutdown()
        _ = try? await running.task.value
    }
}
