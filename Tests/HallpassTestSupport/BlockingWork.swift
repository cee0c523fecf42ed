import Foundation

/// Runs blocking work (waiting for a child process, polling a port) on a thread of its own and
/// suspends the calling task until it is done.
///
/// Tests run in parallel on Swift's cooperative pool, which has one thread per core: two tests
/// blocking it for a second stall every other test's continuations, so their network deadlines
/// pass before they even run. Nor may the work go to `DispatchQueue.global()`: on Linux the
/// global executor draws its threads from the same libdispatch pool, which adds a thread about
/// every half second when its workers block. Four blocked GCD items delay every task by ~2 s;
/// a child process waiting on an in-process hub while its waiters hold the pool deadlocks until
/// the child's own timeout (a 30 s stall of the whole suite, seen). A dedicated thread is
/// outside that pool.
public func onBlockingThread<Result: Sendable>(
    _ body: @escaping @Sendable () throws -> Result
) async throws -> Result {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Swift.Result { try body() })
        }
    }
}
