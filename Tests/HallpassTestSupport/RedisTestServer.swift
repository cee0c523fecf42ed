public import Foundation

/// A real `redis-server` that a test starts on a free loopback port, in a data directory of its own.
///
/// Tests that need to stop or restart Redis start a private one with
/// ``start(password:durable:arguments:)``;
/// tests that only need *a* Redis use ``shared``, which is the server `ops/test` started
/// (`HALLPASS_TEST_REDIS_URL`) or, when run outside it, one started for this test process.
///
/// By default nothing is persisted, so a ``kill()`` and ``restart()`` come back empty. A
/// `durable` server writes an append-only file and fsyncs it before every reply
/// (`appendfsync always`), so whatever a client saw acknowledged survives a ``kill()``, as on a
/// production Redis with AOF; that is what "sessions survive a Redis restart" needs to be shown.
public final class RedisTestServer: @unchecked Sendable {
    // Mutable state is only touched under `lock`.
    private let lock = NSLock()
    private var process: Process?
    /// While killed: a socket holding the port for ``restart()`` (see ``reserveLoopbackPort(_:)``).
    private var reservation: Int32?
    public let port: Int
    public let password: String?
    public let directory: URL
    /// Whether acknowledged writes survive ``kill()`` and ``restart()``.
    public let isDurable: Bool
    /// Extra `redis-server` arguments, such as `--cluster-enabled yes`.
    public let arguments: [String]
    /// Set for a server that speaks TLS only (on ``port``; its plaintext port is off).
    public let tls: TLS?
    private let executable: URL

    /// How a TLS server is set up: its certificate and key, the CA its clients' certificates
    /// must chain to, and whether it demands one.
    public struct TLS: Sendable {
        public var certificateFile: String
        public var keyFile: String
        public var caFile: String
        public var requiresClientCertificates: Bool
        /// The certificate and key the server presents when it connects out, to other nodes'
        /// cluster bus and to a master it replicates: a cluster bus always demands one, with
        /// extended key usage clientAuth, which a server certificate may lack.
        public var outgoingCertificate: (certificateFile: String, keyFile: String)?

        public init(
            certificateFile: String, keyFile: String, caFile: String, requiresClientCertificates: Bool = false,
            outgoingCertificate: (certificateFile: String, keyFile: String)? = nil
        ) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.caFile = caFile
            self.requiresClientCertificates = requiresClientCertificates
            self.outgoingCertificate = outgoingCertificate
        }
    }

    /// The `redis://` URL of this server (`rediss://` with TLS), with the default user's password
    /// when one is set.
    public var url: String {
        let scheme = tls == nil ? "redis" : "rediss"
        if let password { return "\(scheme)://default:\(password)@127.0.0.1:\(port)/0" }
        return "\(scheme)://127.0.0.1:\(port)/0"
    }

    private init(
        port: Int, password: String?, directory: URL, isDurable: Bool, arguments: [String], tls: TLS?, executable: URL
    ) {
        self.port = port
        self.password = password
        self.directory = directory
        self.isDurable = isDurable
        self.arguments = arguments
        self.tls = tls
        self.executable = executable
    }

    /// Starts a private server; with `durable`, one whose data survives ``kill()`` (see the
    /// type's notes); with `arguments` added to its command line (relative paths in them, such
    /// as a cluster config file, land in the server's own data directory). Call ``stop()`` when
    /// done.
    /// With `tls`, the server speaks TLS only.
    public static func start(
        password: String? = nil, durable: Bool = false, arguments: [String] = [], tls: TLS? = nil
    ) async throws -> RedisTestServer {
        try await onBlockingThread { try startBlocking(password: password, durable: durable, arguments: arguments, tls: tls) }
    }

    static func startBlocking(
        password: String?, durable: Bool = false, arguments: [String] = [], tls: TLS? = nil
    ) throws -> RedisTestServer {
        let executable = try findExecutable("redis-server")
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = try freeLoopbackPort()
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("hallpass-redis-\(port)-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let server = RedisTestServer(
                port: port, password: password, directory: directory, isDurable: durable, arguments: arguments, tls: tls,
                executable: executable)
            do {
                try server.launch()
                return server
            } catch {
                lastError = error
                server.stopBlocking()
            }
        }
        throw lastError ?? TestSupportError.serverDidNotStart("redis-server")
    }

    /// The Redis every test may share: keys must then be unique to the test.
    public static let shared: SharedRedis = SharedRedis()

    /// Starts the server process again on the same port and data directory (after ``kill()``);
    /// a durable server comes back with its data, any other empty.
    public func restart() async throws {
        try await onBlockingThread { try self.launch() }
    }

    /// Kills the server at once (SIGKILL), as a crash would; the data directory stays, and so
    /// does the port: until ``restart()`` it refuses connections but no other test can take it,
    /// which it otherwise could during a long outage (a restart then failed with "Address
    /// already in use").
    public func kill() async {
        _ = try? await onBlockingThread {
            self.killBlocking()
            let held = reserveLoopbackPort(self.port)
            self.lock.withLock { self.reservation = held }
        }
    }

    /// Freezes the server (SIGSTOP): it keeps its connections and answers nothing, like a hung
    /// or swapped-out process, until ``resume()``. A replica so frozen acknowledges nothing.
    public func pause() {
        if let running = lock.withLock({ process }), running.isRunning { Foundation.kill(running.processIdentifier, SIGSTOP) }
    }

    /// Lets a paused server run again (SIGCONT).
    public func resume() {
        if let running = lock.withLock({ process }), running.isRunning { Foundation.kill(running.processIdentifier, SIGCONT) }
    }

    /// Whether the server process is running (false after ``kill()`` and ``stop()``, and after
    /// it died by itself).
    public var isRunning: Bool {
        lock.withLock { process?.isRunning ?? false }
    }

    private func releaseReservation() {
        if let held = lock.withLock({ () -> Int32? in
            defer { reservation = nil }
            return reservation
        }) {
            close(held)
        }
    }

    /// Stops the server and removes its data directory.
    public func stop() async {
        _ = try? await onBlockingThread { self.stopBlocking() }
    }

    func killBlocking() {
        let running: Process? = lock.withLock {
            let current = process
            process = nil
            return current
        }
        guard let running, running.isRunning else { return }
        Foundation.kill(running.processIdentifier, SIGKILL)
        running.waitUntilExit()
    }

    func stopBlocking() {
        killBlocking()
        releaseReservation()
        try? FileManager.default.removeItem(at: directory)
    }

    private func launch() throws {
        var arguments: [String] = []
        if let tls {
            arguments += [
                "--port", "0", "--tls-port", "\(port)",
                "--tls-cert-file", tls.certificateFile, "--tls-key-file", tls.keyFile, "--tls-ca-cert-file", tls.caFile,
                "--tls-auth-clients", tls.requiresClientCertificates ? "yes" : "no",
            ]
            if let outgoing = tls.outgoingCertificate {
                arguments += ["--tls-client-cert-file", outgoing.certificateFile, "--tls-client-key-file", outgoing.keyFile]
            }
        } else {
            arguments += ["--port", "\(port)"]
        }
        arguments += [
            "--bind", "127.0.0.1",
            "--dir", directory.path,
            "--save", "",
            "--daemonize", "no",
            "--logfile", directory.appendingPathComponent("redis.log").path,
        ]
        arguments += isDurable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]
        if let password { arguments += ["--requirepass", password] }
        arguments += self.arguments
        let child = Process()
        child.executableURL = executable
        child.arguments = arguments
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        let logFile = directory.appendingPathComponent("redis.log")
        let readyBefore = Self.readyLines(in: logFile)
        releaseReservation()
        try child.run()
        lock.withLock { process = child }
        // Wait (at most ~5 s) for this server's own log to say it is ready and for the port to
        // accept connections. The port alone proves nothing: when two tests are handed the same
        // free port, the second server fails to bind while the first one answers for it. The
        // count tells this launch's line from a previous one's (``restart()`` keeps the log).
        for _ in 0..<500 {
            if Self.readyLines(in: logFile) > readyBefore, isAcceptingConnections(port: port) { return }
            if !child.isRunning { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        killBlocking()
        throw TestSupportError.serverDidNotStart("redis-server on port \(port): \(log.suffix(400))")
    }

    /// How many times the log at `file` says a server became ready.
    private static func readyLines(in file: URL) -> Int {
        guard let log = try? String(contentsOf: file, encoding: .utf8) else { return 0 }
        return log.components(separatedBy: "Ready to accept connections").count - 1
    }

    deinit {
        if let process, process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
    }
}

/// The Redis shared by the tests of one process; see ``RedisTestServer/shared``.
public final class SharedRedis: Sendable {
    private let started: Result<String, TestSupportErrorBox>

    fileprivate init() {
        if let url = ProcessInfo.processInfo.environment["HALLPASS_TEST_REDIS_URL"], !url.isEmpty {
            started = .success(url)
            return
        }
        do {
            // Only outside ops/test: blocks the first caller once, while the server starts.
            let server = try RedisTestServer.startBlocking(password: nil)
            sharedServerToStopAtExit = server
            atexit {
                sharedServerToStopAtExit?.stopBlocking()
            }
            started = .success(server.url)
        } catch {
            started = .failure(TestSupportErrorBox(description: "\(error)"))
        }
    }

    /// The shared server's URL.
    public func url() throws -> String {
        try started.get()
    }
}

/// A sendable, printable wrapper for a start-up failure.
public struct TestSupportErrorBox: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

// Read only from the process's exit handler, which runs once, after all tests.
nonisolated(unsafe) private var sharedServerToStopAtExit: RedisTestServer?
