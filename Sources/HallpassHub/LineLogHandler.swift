#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging

/// A log handler that writes one line per event to standard error, and does no work until a
/// line is actually written.
///
/// swift-log's `StreamLogHandler` formats its metadata each time a key is set, and
/// Hummingbird sets a request id on every request's logger, so with it the hub paid for
/// formatting on every request even with nothing logged. Here metadata is formatted only
/// when an event passes the log level.
public struct LineLogHandler: LogHandler {
    /// The level below which events are dropped.
    public var logLevel: Logger.Level = .info
    /// Metadata attached to every event of this logger.
    public var metadata: Logger.Metadata = [:]
    private let label: String

    /// A handler for the logger named `label`.
    public init(label: String) {
        self.label = label
    }

    /// Reads or sets one metadata value.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes the event as `time level label: key=value … message`.
    public func log(event: LogEvent) {
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let error = event.error { merged["error"] = "\(error)" }
        let fields = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        var line = "\(Self.timestamp()) \(event.level) \(label):\(fields) \(event.message)\n"
        // One write(2) per line, so lines from different threads do not interleave.
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(STDERR_FILENO, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    /// The current UTC time as RFC 3339, to the second.
    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        guard gmtime_r(&now, &parts) != nil else { return "-" }
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
