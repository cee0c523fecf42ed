public import Foundation
import AsyncHTTPClient
import NIOCore

/// The real `hallpass-hub` executable, run as a child process on a free loopback port.
///
/// ``stop()`` ends it; should a test fail before that, `deinit` kills it, so no hub outlives
/// the test process.
public final class HubProcess: @unchecked Sendable {
    // `process` is set once in `init` and only signalled afterwards.
    private let process: Process
    public let port: Int
    public let log: URL

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// The hub's process id, to look at it in `/proc`.
    public var processIdentifier: Int32 { process.processIdentifier }

    /// The executable `swift build` put next to the tests: `<package>/.build/debug/hallpass-hub`.
    public static func executable(file: StaticString = #filePath) throws -> URL {
        // This file is <package>/Tests/HallpassTestSupport/HubProcess.swift.
        let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = root.appendingPathComponent(".build/debug/hallpass-hub")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TestSupportErrorBox(description: "\(binary.path) is missing: build with `swift build --build-tests` first")
        }
        return binary
    }

    private init(process: Process, port: Int, log: URL) {
        self.process = process
        self.port = port
        self.log = log
    }

    /// Starts a hub over `redisURL` with `arguments` added to `--redis`, `--port` and
    /// `--issuer` (`issuer`, else the hub's own address), and waits until its `/readyz` answers
    /// 200. Retries on another port if the chosen one was taken in the meantime.
    public static func start(
        redisURL: String, issuer: String? = nil, arguments: [String] = [], environment: [String: String] = [:]
    ) async throws -> HubProcess {
        let executable = try executable()
        var failures: [String] = []
        for _ in 0..<3 {
            let port = try freeLoopbackPort()
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("hallpass-hub-\(port)-\(UUID().uuidString.prefix(8)).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let process = Process()
            process.executableURL = executable
            process.arguments = ["--redis", redisURL, "--port", "\(port)", "--issuer", issuer ?? "http://127.0.0.1:\(port)"] + arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            try? handle.close()
            let hub = HubProcess(process: process, port: port, log: log)
            let ready: Bool
            do {
                ready = try await hub.waitUntilReady()
            } catch {
                // Cancelled (the other hub of an `async let` pair failed): leave nothing behind.
                await hub.stop()
                throw error
            }
            if ready { return hub }
            failures.append(hub.logTail())
            await hub.stop()
        }
        throw TestSupportErrorBox(description: "hallpass-hub did not start:\n" + failures.joined(separator: "\n---\n"))
    }

    /// Polls `/readyz` until 200 (true) or the process exits or 20 s pass (false).
    private func waitUntilReady() async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, process.isRunning {
            if let status = try? await status(of: "/readyz"), status == 200 { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    private func status(of path: String) async throws -> UInt {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + path), timeout: .seconds(5))
        return response.status.code
    }

    /// The end of the process's log, for failure messages.
    public func logTail() -> String {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return String(text.suffix(2000))
    }

    /// Freezes the hub (SIGSTOP): it holds its connections and answers nothing, like a hung
    /// process, until ``resume()``.
    public func pause() { kill(process.processIdentifier, SIGSTOP) }

    /// Lets a paused hub run again (SIGCONT).
    public func resume() { kill(process.processIdentifier, SIGCONT) }

    /// Stops the hub: SIGTERM, then SIGKILL if it has not exited within 5 s. Removes the log.
    public func stop() async {
        await terminateChild(process)
        try? FileManager.default.removeItem(at: log)
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            kill(process.processIdentifier, SIGKILL)
        }
    }
}
