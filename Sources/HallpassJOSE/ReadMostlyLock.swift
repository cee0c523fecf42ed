#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a reader-writer lock that prefers writers: any number of threads read at
/// once, a writer waits only for the readers already inside, and new readers wait for a
/// waiting writer (so a steady stream of readers cannot starve it).
///
/// For data read on every request and written rarely, where a `Mutex` would make concurrent
/// readers queue behind each other. Hold it only for in-memory work, never across a wait.
public final class ReadMostlyLock<Value>: @unchecked Sendable {
    // Safety: `value` is only touched with `lock` held (shared for reads, exclusive for writes).
    private var value: Value
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    /// A lock around `value`.
    public init(_ value: Value) {
        self.value = value
        lock = .allocate(capacity: 1)
        #if canImport(Glibc) || canImport(Musl)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        #else
        pthread_rwlock_init(lock, nil)
        #endif
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` with shared access to the value.
    @inline(__always)
    public func withReadLock<Result>(_ body: (Value) throws -> Result) rethrows -> Result {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    public func withWriteLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
