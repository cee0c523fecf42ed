public import Foundation
import Synchronization

/// A program this test runs in the background while it talks to it, reading its output as it
/// comes (``runProcess(_:_:input:environment:)`` returns only once the program exited).
///
/// ``wait(seconds:)`` collects the exit; should a test fail before that, `deinit` kills it.
public final class RunningProgram: Sendable {
    // Set once in `init`, then only signalled and read.
    private let process: Process
    private let output = Collected()

    /// Shared with the pipe readers, which outlive no one but may run after `init` returned.
    private final class Collected: Sendable {
        let text = Mutex<(out: String, err: String)>(("", ""))
    }

    /// Starts `executable` with `arguments` and `environment` added to this process's.
    public init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        let output = self.output
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            output.text.withLock { $0.out += String(decoding: data, as: UTF8.self) }
        }
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil }
            output.text.withLock { $0.err += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Everything the program wrote to standard output so far.
    public var standardOutput: String { output.text.withLock { $0.out } }
    /// Everything the program wrote to standard error so far.
    public var standardError: String { output.text.withLock { $0.err } }

    /// The first line of standard output that starts with `prefix`, waiting up to `seconds`
    /// for it; the rest of that line is returned.
    public func line(startingWith prefix: String, seconds: Double = 30) async throws -> String {
        var found: String?
        var exited = false
        try await waitUntil("a line starting with '\(prefix)'", seconds: seconds) {
            // Whether it had exited before the output was read: then no more output will come.
            exited = !process.isRunning
            found = standardOutput.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
            return found != nil || exited
        }
        guard let found else {
            throw TestSupportErrorBox(description: "the program exited without a line starting with '\(prefix)': \(standardOutput) \(standardError)")
        }
        return found
    }

    /// Waits up to `seconds` for the program to exit and returns its status.
    public func wait(seconds: Double = 60) async throws -> Int32 {
        try await waitUntil("the program to exit", seconds: seconds) { !process.isRunning }
        // The pipes may still hold the last output: give the readers a moment to drain them.
        try await Task.sleep(for: .milliseconds(100))
        return process.terminationStatus
    }
}

/// An executable `swift build` put in `<package>/.build/debug/`.
public func builtExecutable(_ name: String, file: StaticString = #filePath) throws -> URL {
    // This file is <package>/Tests/HallpassTestSupport/RunningProgram.swift.
    let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let binary = root.appendingPathComponent(".build/debug/" + name)
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
        throw TestSupportErrorBox(description: "\(binary.path) is missing: build with `swift build --build-tests` first")
    }
    return binary
}
