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
    // Inlinable (and so these are usable from inline code) so that callers in other modules
    // get code specialised for their `Value`, without generic metadata look-ups per call.
    @usableFromInline @exclusivity(unchecked) var value: Value
    @usableFromInline let lock: RWLockHandle

    /// A lock around `value`.
    public init(_ value: Value) {
        self.value = value
        lock = RWLockHandle()
    }

    deinit {
        lock.destroy()
    }

    /// Runs `body` with shared access to the value.
    @inlinable @inline(__always)
    public func withReadLock<Result>(_ body: (Value) throws -> Result) rethrows -> Result {
        lock.lockShared()
        defer { lock.unlock() }
        return try body(value)
    }

    /// Runs `body` with exclusive access to the value.
    @inlinable @inline(__always)
    public func withWriteLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lockExclusive()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// The pthread reader-writer lock under ``ReadMostlyLock`` (writer-preferring on Linux). Its
/// calls are small non-generic functions, so inlinable code can use them without exposing
/// the C library.
@usableFromInline
struct RWLockHandle: @unchecked Sendable {
    // Safety: the pointer is allocated once and only handed to the pthread rwlock functions.
    let pointer: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        pointer = .allocate(capacity: 1)
        #if canImport(Glibc) || canImport(Musl)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(pointer, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        #else
        pthread_rwlock_init(pointer, nil)
        #endif
    }

    @usableFromInline func lockShared() { pthread_rwlock_rdlock(pointer) }
    @usableFromInline func lockExclusive() { pthread_rwlock_wrlock(pointer) }
    @usableFromInline func unlock() { pthread_rwlock_unlock(pointer) }

    func destroy() {
        pthread_rwlock_destroy(pointer)
        pointer.deallocate()
    }
}
