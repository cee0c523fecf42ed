#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open file descriptors (`RLIMIT_NOFILE`), which bounds how many
/// connections the hub can hold: every connection is one descriptor.
public enum FileDescriptorLimit {
    /// The soft limit now; `Int.max` when unlimited or unknown.
    public static func current() -> Int {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return Int.max }
        // Unlimited (RLIM_INFINITY, all bits set) clamps to Int.max.
        return Int(clamping: limit.rlim_cur)
    }

    /// Raises the soft limit to the hard limit and returns the soft limit after. Many systems
    /// start processes at a soft limit of 1024 (for the sake of `select(2)`, which the hub does
    /// not use) under a hard limit many times that: without raising it, a hub refuses
    /// connections, or fails to accept any, long before the machine is busy.
    @discardableResult
    public static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return Int.max }
        var wanted = limit.rlim_max
        #if canImport(Darwin)
        // macOS reports an unlimited hard limit but refuses a soft limit above OPEN_MAX.
        wanted = min(wanted, rlim_t(OPEN_MAX))
        #endif
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = wanted
            _ = setrlimit(resource, &raised)
        }
        return current()
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
