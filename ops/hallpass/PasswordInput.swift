import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs blocking work (waiting for a human to type, Argon2id's tens of milliseconds of CPU)
/// on NIO's blocking-work threads and suspends the calling task until it is done. Not on a
/// GCD queue: on Linux Swift's global executor draws its threads from libdispatch's pool, so
/// a GCD worker waiting at a prompt is a thread the cooperative pool does not get back.
enum Blocking {
    static func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}

/// Reading a new password: one line from standard input (`--password-stdin`), or typed twice
/// at the terminal with echo off.
enum PasswordInput {
    /// The longest password the hub accepts (it answers longer ones like a wrong password).
    static let maximumBytes = 1024

    /// One line of standard input, without its line ending. Reads byte by byte, so nothing
    /// after the first line is consumed.
    static func fromStandardInput() throws(CLIFailure) -> [UInt8] {
        guard let line = try readLine(from: STDIN_FILENO) else {
            throw CLIFailure("--password-stdin: standard input is empty")
        }
        return try checked(line)
    }

    /// Prompts on the controlling terminal, twice, with echo off.
    static func prompt(for username: String) throws(CLIFailure) -> [UInt8] {
        let tty = open("/dev/tty", O_RDWR | O_NOCTTY)
        guard tty >= 0 else {
            throw CLIFailure("no terminal to prompt for the password on; pipe it in with --password-stdin")
        }
        defer { close(tty) }
        guard let typed = try readSilently(from: tty, prompt: "Password for \(username): ") else {
            throw CLIFailure("no password entered")
        }
        let first = try checked(typed)
        var second = try readSilently(from: tty, prompt: "Retype password: ") ?? []
        defer { wipe(&second) }
        guard first == second else {
            var discarded = first
            wipe(&discarded)
            throw CLIFailure("the passwords do not match")
        }
        return first
    }

    /// Refuses empty, over-long and non-UTF-8 passwords.
    static func checked(_ password: [UInt8]) throws(CLIFailure) -> [UInt8] {
        guard !password.isEmpty else { throw CLIFailure("refusing an empty password") }
        guard password.count <= maximumBytes else {
            throw CLIFailure("the password is longer than \(maximumBytes) bytes, which the hub would never accept")
        }
        guard String(validating: password, as: UTF8.self) != nil else {
            throw CLIFailure("the password is not valid UTF-8")
        }
        return password
    }

    static func wipe(_ bytes: inout [UInt8]) {
        for index in bytes.indices { bytes[index] = 0 }
    }

    /// One line from `descriptor` without `\n` or `\r\n`; `nil` at end of input before any
    /// byte. Stops reading once the line is longer than any acceptable password.
    private static func readLine(from descriptor: Int32) throws(CLIFailure) -> [UInt8]? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        var sawInput = false
        while line.count <= maximumBytes + 1 {
            let count = read(descriptor, &byte, 1)
            if count < 0 {
                if errno == EINTR { continue }
                throw CLIFailure("cannot read the password: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            sawInput = true
            if byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        byte = 0
        guard sawInput else { return nil }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }

    /// Writes `prompt` to the terminal and reads a line with echo off, restoring the terminal
    /// afterwards, and also if a signal ends the process meanwhile.
    private static func readSilently(from tty: Int32, prompt: String) throws(CLIFailure) -> [UInt8]? {
        var original = termios()
        guard tcgetattr(tty, &original) == 0 else {
            throw CLIFailure("cannot turn off echo on the terminal: \(String(cString: strerror(errno)))")
        }
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        silent.c_lflag |= tcflag_t(ECHONL)
        TerminalRestore.arm(tty, original)
        defer { TerminalRestore.disarm() }
        guard tcsetattr(tty, TCSAFLUSH, &silent) == 0 else {
            throw CLIFailure("cannot turn off echo on the terminal: \(String(cString: strerror(errno)))")
        }
        _ = prompt.withCString { write(tty, $0, strlen($0)) }
        return try readLine(from: tty)
    }
}

/// Puts the terminal back the way it was when a signal ends the process while echo is off;
/// otherwise the shell would be left not echoing what the admin types.
private enum TerminalRestore {
    // Written only while no handler of ours is installed; the handler only reads them
    // (tcsetattr, write, signal and raise are async-signal-safe).
    nonisolated(unsafe) static var descriptor: Int32 = -1
    nonisolated(unsafe) static var saved = termios()
    nonisolated(unsafe) static var previousHandlers: [Int32: (@convention(c) (Int32) -> Void)?] = [:]
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    static func arm(_ tty: Int32, _ original: termios) {
        descriptor = tty
        saved = original
        for number in signals {
            previousHandlers[number] = signal(number) { received in
                if TerminalRestore.descriptor >= 0 {
                    _ = tcsetattr(TerminalRestore.descriptor, TCSAFLUSH, &TerminalRestore.saved)
                    _ = write(TerminalRestore.descriptor, "\n", 1)
                }
                _ = signal(received, SIG_DFL)
                _ = raise(received)
            }
        }
    }

    static func disarm() {
        if descriptor >= 0 { _ = tcsetattr(descriptor, TCSAFLUSH, &saved) }
        for number in signals { _ = signal(number, previousHandlers[number] ?? SIG_DFL) }
        previousHandlers = [:]
        descriptor = -1
    }
}
