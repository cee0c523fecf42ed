import HallpassJOSE

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A refused or failed action: exit status 1, with `reason` as the one line on stderr.
struct CLIFailure: Error, CustomStringConvertible {
    let reason: String

    init(_ reason: String) {
        self.reason = reason
    }

    var description: String { reason }
}

/// Where output goes: documents and tables to stdout, everything else to stderr.
enum Console {
    /// Prints `reason` as one line on stderr, prefixed `hallpass: `.
    static func error(_ reason: String) {
        writeError("hallpass: " + oneLine(reason))
    }

    /// A note for the human at the terminal (stderr, so stdout stays a clean document).
    static func note(_ text: String) {
        writeError(text)
    }

    /// Writes `text` and a newline to stderr.
    static func writeError(_ text: String) {
        var bytes = Array((text.hasSuffix("\n") ? text : text + "\n").utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    /// Prints one JSON document on stdout.
    static func json(_ value: JSONValue) {
        print(value.serializedString)
    }

    /// Collapses control characters (newlines included) so a reason stays one line.
    static func oneLine(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        var lastWasSpace = false
        for scalar in text.unicodeScalars {
            let isSpace = scalar.value < 0x20 || scalar.value == 0x7F || scalar == " "
            if isSpace {
                if !lastWasSpace { scalars.append(" ") }
            } else {
                scalars.append(scalar)
            }
            lastWasSpace = isSpace
        }
        return String(scalars).trimmingSpaces
    }

    /// A UTC timestamp for tables, `2025-01-31 14:05Z` (`2025-01-31 14:05:09Z` with
    /// `seconds`); `-` for 0.
    static func timestamp(_ unixSeconds: Int64, seconds: Bool = false) -> String {
        guard unixSeconds > 0 else { return "-" }
        var time = time_t(unixSeconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "\(unixSeconds)" }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min))" + (seconds ? ":\(two(parts.tm_sec))Z" : "Z")
    }

    /// Flushes standard output, for output that must reach a pipe as it happens (`events --follow`).
    static func flush() {
        // `fflush(nil)` flushes every output stream; naming `stdout` is a global var to Swift 6.
        fflush(nil)
    }
}

/// A plain-text table: a header row and aligned columns separated by two spaces.
struct Table {
    let headers: [String]
    private(set) var rows: [[String]] = []

    init(_ headers: String...) {
        self.headers = headers
    }

    mutating func add(_ cells: String...) {
        precondition(cells.count == headers.count, "a row needs one cell per column")
        rows.append(cells.map { $0.isEmpty ? "-" : Console.oneLine($0) })
    }

    func print() {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                if index == cells.count - 1 {
                    text += cell
                } else {
                    text += cell + String(repeating: " ", count: widths[index] - cell.count + 2)
                }
            }
            return text
        }
        Swift.print(line(headers))
        for row in rows { Swift.print(line(row)) }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
