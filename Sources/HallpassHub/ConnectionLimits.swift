/// How many connections a hub keeps open, how long it waits on them and how large a request
/// head it reads: what keeps idle, slow and oversized clients from crowding out ordinary
/// requests or exhausting file descriptors and memory (issue 19).
///
/// Enforced by ``HubHTTPChannel``: the count by ``ConnectionCap``, the header timeout by
/// ``HeaderTimeout``, the head limits by NIO's HTTP decoder (answered by
/// ``HeaderOverflowReply``), and the idle timeout by Hummingbird's connection state handler.
public struct ConnectionLimits: Sendable, Hashable {
    /// Open client connections at most; one more is answered 503 and closed at once. Default
    /// 4096. The hub lowers it, with a warning, to what its file descriptor limit leaves after
    /// ``reservedFileDescriptors`` (see ``effectiveMaximumConnections(fileDescriptorLimit:)``).
    public var maximumConnections: Int = 4096
    /// Seconds a keep-alive connection may sit with no request in flight before the hub closes
    /// it. Default 75: longer than the 60 s idle timeout of common load balancers, so a proxy
    /// in front closes first and never sends a request down a connection the hub is closing.
    public var idleTimeout: Int64 = 75
    /// Seconds a client has from the first byte of a request to the end of its head (request
    /// line and headers); a slower one is disconnected (slowloris). Default 10: a head is a
    /// few hundred bytes, which any real client sends in one packet.
    public var headerTimeout: Int64 = 10
    /// Bytes of request line, header names and values a request head may have; a larger one
    /// gets 431. Default 16 KiB: cookies and bearer tokens of this hub are a few KiB.
    public var maximumHeaderBytes: Int = 16 * 1024
    /// Header fields a request may have; more get 431. Default 100.
    public var maximumHeaderCount: Int = 100

    /// File descriptors kept out of ``maximumConnections``: the listening socket, Redis
    /// connections, key files, logs, and a connection accepted only to be refused.
    public static let reservedFileDescriptors = 256

    /// The defaults.
    public init() {}

    func validate() throws(HubConfiguration.Problem) {
        guard (1...1_000_000).contains(maximumConnections) else { throw .invalid("--max-connections must be 1-1000000") }
        guard (1...3600).contains(idleTimeout) else { throw .invalid("--connection-idle-timeout must be 1-3600 seconds") }
        guard (1...300).contains(headerTimeout) else { throw .invalid("--header-timeout must be 1-300 seconds") }
        guard (1024...1024 * 1024).contains(maximumHeaderBytes) else {
            throw .invalid("--max-header-bytes must be 1024-1048576")
        }
        guard (8...10_000).contains(maximumHeaderCount) else { throw .invalid("--max-header-count must be 8-10000") }
    }

    /// ``maximumConnections``, lowered so that connections alone never use up the process's
    /// file descriptors (`fileDescriptorLimit`, the soft `RLIMIT_NOFILE`): a hub out of
    /// descriptors can no longer reach Redis or accept anyone, while one at its connection
    /// limit refuses only the newest clients.
    public func effectiveMaximumConnections(fileDescriptorLimit: Int) -> Int {
        min(maximumConnections, max(1, fileDescriptorLimit - Self.reservedFileDescriptors))
    }
}
