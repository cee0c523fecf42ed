public import Foundation

/// A real Redis Sentinel that a test starts on a free loopback port, monitoring one master as
/// `mymaster` with a quorum of 1 and short timeouts, so a test can fail over in seconds.
///
/// Sentinel rewrites its config file as it learns about the deployment, so each one gets a
/// writable file in a directory of its own. Call ``stop()`` when done.
public final class RedisSentinelTestServer: @unchecked Sendable {
    // Mutable state is only touched under `lock`.
    private let lock = NSLock()
    private var process: Process?
    public let port: Int
    public let directory: URL
    /// The service name the Sentinel monitors.
    public let service: String
    /// Set for a Sentinel that speaks TLS only, to its clients and to the master.
    public let tls: RedisTestServer.TLS?

    private init(port: Int, directory: URL, service: String, tls: RedisTestServer.TLS?) {
        self.port = port
        self.directory = directory
        self.service = service
        self.tls = tls
    }

    /// The `redis+sentinel://` URL of the monitored service through this Sentinel
    /// (`rediss+sentinel://` with TLS).
    public var url: String {
        "\(tls == nil ? "redis" : "rediss")+sentinel://127.0.0.1:\(port)/\(service)"
    }

    /// Starts a Sentinel monitoring the master on 127.0.0.1 at `masterPort` as `service`; with
    /// `password`, one that requires it of its clients (`requirepass`); with `tls`, one that
    /// speaks only TLS, to its clients and to the (TLS) master and replicas.
    public static func start(
        masterPort: Int, service: String = "mymaster", password: String? = nil, tls: RedisTestServer.TLS? = nil
    ) async throws -> RedisSentinelTestServer {
        try await onBlockingThread {
            let executable = try findExecutable("redis-server")
            var lastError: (any Error)?
            for _ in 0..<5 {
                let port = try freeLoopbackPort()
                let directory = FileManager.default.temporaryDirectory
                    .appendingPathComponent("hallpass-sentinel-\(port)-\(UUID().uuidString.prefix(8))")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                let sentinel = RedisSentinelTestServer(port: port, directory: directory, service: service, tls: tls)
                do {
                    try sentinel.launch(executable: executable, masterPort: masterPort, password: password)
                    return sentinel
                } catch {
                    lastError = error
                    sentinel.stopBlocking()
                }
            }
            throw lastError ?? TestSupportError.serverDidNotStart("redis-server --sentinel")
        }
    }

    /// Stops the Sentinel and removes its directory.
    public func stop() async {
        _ = try? await onBlockingThread { self.stopBlocking() }
    }

    private func stopBlocking() {
        let running: Process? = lock.withLock {
            defer { process = nil }
            return process
        }
        if let running, running.isRunning {
            Foundation.kill(running.processIdentifier, SIGKILL)
            running.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    private func launch(executable: URL, masterPort: Int, password: String?) throws {
        let config = directory.appendingPathComponent("sentinel.conf")
        let logFile = directory.appendingPathComponent("sentinel.log")
        let listener =
            if let tls {
                """
                port 0
                tls-port \(port)
                tls-cert-file \(tls.certificateFile)
                tls-key-file \(tls.keyFile)
                tls-ca-cert-file \(tls.caFile)
                tls-auth-clients \(tls.requiresClientCertificates ? "yes" : "no")
                tls-replication yes
                """
            } else {
                "port \(port)"
            }
        try """
        \(listener)
        bind 127.0.0.1
        dir \(directory.path)
        logfile \(logFile.path)
        sentinel monitor \(service) 127.0.0.1 \(masterPort) 1
        sentinel down-after-milliseconds \(service) 1000
        sentinel failover-timeout \(service) 5000
        \(password.map { "requirepass \($0)" } ?? "")

        """.write(to: config, atomically: true, encoding: .utf8)
        let child = Process()
        child.executableURL = executable
        child.arguments = [config.path, "--sentinel"]
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        lock.withLock { process = child }
        // Ready once its own log says it monitors the master and the port accepts connections:
        // the port alone could be another process's (see RedisTestServer).
        for _ in 0..<500 {
            let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            if log.contains("+monitor master"), isAcceptingConnections(port: port) { return }
            if !child.isRunning { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        throw TestSupportError.serverDidNotStart("redis-server --sentinel on port \(port): \(log.suffix(400))")
    }

    deinit {
        if let process, process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
    }
}
