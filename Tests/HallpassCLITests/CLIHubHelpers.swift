import AsyncHTTPClient
import Foundation
import HallpassJOSE
import HallpassTestSupport
import NIOCore
import Testing

/// Talks to a running `hallpass-hub` the way an app does: token requests, introspection (the
/// stand-in for a validator until the `Hallpass` validator library lands), JWKS.
struct HubClient: Sendable {
    let baseURL: String
    /// The HTTP client; the shared one keeps 8 connections per host.
    var http: HTTPClient = .shared

    struct Reply: Sendable {
        let status: Int
        let body: [UInt8]
        var json: [String: JSONValue]? { (try? JSONParser.parse(body))?.objectValue }
        func string(_ member: String) -> String? { json?[member]?.stringValue }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func post(_ path: String, form: [(String, String)], basic: (String, String)? = nil, userAgent: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        if let userAgent { request.headers.replaceOrAdd(name: "User-Agent", value: userAgent) }
        if let (id, secret) = basic {
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(Self.encode(id)):\(Self.encode(secret))".utf8).base64EncodedString())
        }
        let body = form.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        return Reply(status: Int(response.status.code), body: Array(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    func get(_ path: String) async throws -> Reply {
        let response = try await http.execute(HTTPClientRequest(url: baseURL + path), timeout: .seconds(30))
        return Reply(status: Int(response.status.code), body: Array(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    func login(_ user: String, password: String, client: String, secret: String, userAgent: String? = nil) async throws -> Reply {
        try await post(
            "/oauth2/token", form: [("grant_type", "password"), ("username", user), ("password", password)],
            basic: (client, secret), userAgent: userAgent)
    }

    func refresh(_ token: String, client: String, secret: String) async throws -> Reply {
        try await post("/oauth2/token", form: [("grant_type", "refresh_token"), ("refresh_token", token)], basic: (client, secret))
    }

    /// Whether the hub's introspection calls `token` active.
    func isActive(_ token: String, client: String, secret: String) async throws -> Bool {
        let reply = try await post("/oauth2/introspect", form: [("token", token)], basic: (client, secret))
        #expect(reply.status == 200, "\(reply.text)")
        return reply.json?["active"]?.boolValue == true
    }

    func jwks() async throws -> JWKSet {
        let reply = try await get("/oauth2/jwks")
        guard reply.status == 200 else { throw TestSupportErrorBox(description: "JWKS answered \(reply.status)") }
        return try JWKSet(json: JSONParser.parse(reply.body))
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// The `kid` in a JWS header.
func keyID(of token: String) -> String? {
    segment(0, of: token)?["kid"]?.stringValue
}

/// A claim of a JWT, read without verifying it.
func claim(_ name: String, of token: String) -> JSONValue? {
    segment(1, of: token)?[name]
}

private func segment(_ index: Int, of token: String) -> [String: JSONValue]? {
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3, let bytes = try? Base64URL.decode(parts[index]) else { return nil }
    return (try? JSONParser.parse(bytes))?.objectValue
}

/// A child process whose output is read as it comes (for `events --follow`).
final class StreamingProcess: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()

    init(_ executable: URL, _ arguments: [String]) throws {
        process.executableURL = executable
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        stdout.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.lock.withLock { self?.out.append(data) }
        }
        stderr.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.lock.withLock { self?.err.append(data) }
        }
        try process.run()
    }

    var standardOutput: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var standardError: String { lock.withLock { String(decoding: err, as: UTF8.self) } }
    var isRunning: Bool { process.isRunning }

    func interrupt() { kill(process.processIdentifier, SIGINT) }

    /// Waits up to `seconds` for the exit; the status, or nil (then the process is killed).
    func waitForExit(seconds: Double) async throws -> Int32? {
        let process = self.process
        return try await onBlockingThread {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return process.terminationStatus
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Polls `condition` every 50 ms for up to `seconds`.
func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// A key-encryption key file (64 hex digits, mode 600) in a fresh temporary directory.
func makeKEKFile() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallpass-kek-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let file = directory.appendingPathComponent("kek")
    let hex = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    try Data((hex + "\n").utf8).write(to: file)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
    return file
}

/// Parses a JSON document the CLI printed.
func document(_ output: ProcessOutput, sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
    #expect(output.status == 0, "\(output.standardError)", sourceLocation: sourceLocation)
    return try JSONParser.parse(Array(output.standardOutput.utf8))
}
