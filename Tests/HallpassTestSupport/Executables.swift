public import Foundation

/// Finds an executable on `PATH`, the way a shell would.
public func findExecutable(_ name: String) throws -> URL {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    for directory in ["/usr/sbin", "/usr/local/sbin"] {
        let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    throw TestSupportError.executableNotFound(name)
}

/// The result of running a program to completion.
public struct ProcessOutput: Sendable {
    public var status: Int32
    public var standardOutput: String
    public var standardError: String
}

/// Runs `executable` with `arguments`, feeds it `input`, and waits for it to exit, without
/// blocking the cooperative pool (see ``onBlockingThread(_:)``).
public func runProcess(
    _ executable: URL,
    _ arguments: [String],
    input: String? = nil,
    environment: [String: String]? = nil
) async throws -> ProcessOutput {
    try await onBlockingThread {
        try runProcessBlocking(executable, arguments, input: input, environment: environment)
    }
}

/// Output is collected on background threads so a chatty child cannot fill a pipe and deadlock.
private func runProcessBlocking(
    _ executable: URL,
    _ arguments: [String],
    input: String?,
    environment: [String: String]?
) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let stdout = Pipe()
    let stderr = Pipe()
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = stdin
    try process.run()
    let collected = CollectedOutput()
    // Threads of their own, not GCD workers: see ``onBlockingThread(_:)``.
    let group = DispatchGroup()
    group.enter()
    Thread.detachNewThread {
        collected.setOut(stdout.fileHandleForReading.readDataToEndOfFile())
        group.leave()
    }
    group.enter()
    Thread.detachNewThread {
        collected.setErr(stderr.fileHandleForReading.readDataToEndOfFile())
        group.leave()
    }
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    process.waitUntilExit()
    group.wait()
    return ProcessOutput(
        status: process.terminationStatus,
        standardOutput: String(decoding: collected.out, as: UTF8.self),
        standardError: String(decoding: collected.err, as: UTF8.self)
    )
}

private final class CollectedOutput: @unchecked Sendable {
    // Guarded by `lock`; written once per stream from the reader threads.
    private let lock = NSLock()
    private var _out = Data()
    private var _err = Data()
    func setOut(_ data: Data) { lock.withLock { _out = data } }
    func setErr(_ data: Data) { lock.withLock { _err = data } }
    var out: Data { lock.withLock { _out } }
    var err: Data { lock.withLock { _err } }
}

/// Stops a child process the way a service manager would: SIGTERM, then SIGKILL if it has not
/// exited within 5 s. The waiting happens on a thread of its own, never in the cooperative pool.
public func terminateChild(_ process: Process) async {
    _ = try? await onBlockingThread {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
