import HallpassRedis
import HallpassTestSupport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// A key no other test (or run) uses: the shared Redis is used by tests running in parallel.
func uniqueKey(_ name: String) -> String {
    "hallpass-test:\(name):\(UInt64.random(in: .min ... .max))"
}

/// A bulk string reply holding `text`.
func bulk(_ text: String) -> RedisValue {
    .bulkString(Array(text.utf8))
}

/// A configuration for `url` with a connect timeout meant for a loaded test machine.
///
/// Every suite runs in parallel on the cooperative pool, which has one thread per core; on a
/// 2-core machine, CPU-bound tests (RSA key generation, Argon2) can hold a connect's
/// continuation back past the production default of 2 s without anything being wrong.
/// Tests of the timeouts themselves set theirs explicitly.
func testConfiguration(url: String) throws -> RedisConfiguration {
    var configuration = try RedisConfiguration(url: url)
    configuration.connectTimeout = .seconds(15)
    return configuration
}

/// The configuration of the Redis shared by all tests of this process.
func sharedConfiguration() throws -> RedisConfiguration {
    try testConfiguration(url: RedisTestServer.shared.url())
}

/// Runs `body` with a client of the shared Redis and shuts the client down afterwards.
func withSharedClient<Result: Sendable>(
    _ body: (RedisClient) async throws -> Result
) async throws -> Result {
    let client = RedisClient(configuration: try sharedConfiguration(), logger: quietLogger)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// Runs `body` with a private Redis (which a test may kill or pause) and stops it afterwards.
func withPrivateServer<Result: Sendable>(
    password: String? = nil,
    _ body: (RedisTestServer) async throws -> Result
) async throws -> Result {
    let server = try await RedisTestServer.start(password: password)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// The error a test helper throws when something it waited for did not happen in time.
struct TimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(self.what)" }
}

/// Waits for `operation`, but fails after `seconds` even if the operation ignores cancellation.
///
/// A task group would not do: it waits for every child, cancelled or not, so a hung operation
/// would hang the test. Here a hung operation is abandoned and the test fails on time.
func withDeadline<Value: Sendable>(
    seconds: Double,
    _ what: String,
    _ operation: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let waiter = NIOLockedValueBox<CheckedContinuation<Value, any Error>?>(nil)
    return try await withCheckedThrowingContinuation { continuation in
        waiter.withLockedValue { $0 = continuation }
        let timer = Task {
            try? await Task.sleep(for: .seconds(seconds))
            waiter.withLockedValue { $0.take() }?.resume(throwing: TimedOut(what: what))
        }
        Task {
            let result: Swift.Result<Value, any Error>
            do {
                result = .success(try await operation())
            } catch {
                result = .failure(error)
            }
            waiter.withLockedValue { $0.take() }?.resume(with: result)
            timer.cancel()
        }
    }
}

/// Retries `operation` while it fails with a connection-level `RedisError` (as it does while the
/// client backs off or the server restarts), for at most `seconds`.
func retryingConnectionErrors<Value: Sendable>(
    seconds: Double,
    _ operation: () async throws -> Value
) async throws -> Value {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while true {
        do {
            return try await operation()
        } catch let error as RedisError {
            switch error {
            case .unavailable, .connectionFailed, .connectionClosed, .connectTimedOut, .commandTimedOut:
                guard ContinuousClock.now < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(50))
            default:
                throw error
            }
        }
    }
}

/// The value of `field` (as in `db=3`) in a `CLIENT INFO` / `CLIENT LIST` line.
func clientField(_ field: String, in line: String) -> String? {
    for pair in line.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
        let parts = pair.split(separator: "=", maxSplits: 1)
        if parts.count == 2, parts[0] == field { return String(parts[1]) }
    }
    return nil
}

// MARK: Fake peers on loopback

/// Answers each read with the next canned reply; sends nothing once they run out.
private final class CannedReplies: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var replies: [String]

    init(_ replies: [String]) {
        self.replies = replies
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.replies.isEmpty else { return }
        let reply = self.replies.removeFirst()
        context.writeAndFlush(self.wrapOutboundOut(ByteBuffer(string: reply)), promise: nil)
    }
}

/// Runs `body` with the port of a TCP server on 127.0.0.1 that accepts connections and answers
/// each read with the next of `replies` (with none: a peer that accepts and never answers).
func withFakePeer<Result: Sendable>(
    replies: [String] = [],
    _ body: (Int) async throws -> Result
) async throws -> Result {
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(CannedReplies(replies))
            }
        }
        .bind(host: "127.0.0.1", port: 0)
        .get()
    do {
        let port = try #require(server.localAddress?.port)
        let result = try await body(port)
        try await server.close()
        return result
    } catch {
        try? await server.close()
        throw error
    }
}

// MARK: Log capture

/// Collects every log line, metadata included, so tests can check what was (not) logged.
final class LogCapture: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])

    var logger: Logger {
        Logger(label: "hallpass.redis.test") { _ in Handler(capture: self) }
    }

    var text: String {
        self.lines.withLockedValue { $0.joined(separator: "\n") }
    }

    fileprivate func append(_ line: String) {
        self.lines.withLockedValue { $0.append(line) }
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let metadata = self.metadata.merging(event.metadata ?? [:]) { $1 }
            self.capture.append("\(event.level) \(event.message) \(metadata)")
        }
    }
}
