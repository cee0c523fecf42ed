import Dispatch

/// Runs blocking work (waiting for a child process, polling a port) on a GCD thread and
/// suspends the calling task until it is done.
///
/// Tests run in parallel on Swift's cooperative pool, which has one thread per core: two tests
/// blocking it for a second stall every other test's continuations, so their network deadlines
/// pass before they even run. Blocking waits therefore never happen on the pool.
public func onBlockingThread<Result: Sendable>(
    _ body: @escaping @Sendable () throws -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Swift.Result { try body() })
        }
    }
}
