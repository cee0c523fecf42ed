import ArgumentParser
import Dispatch
import HallpassJOSE
import HallpassRedis
import HallpassStore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `hallpass events [--follow] [--user USER] [--type TYPE]... [--count N]`
struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show the event log, newest last; --follow keeps printing new events until Ctrl-C.",
        discussion: """
            Every change and login is logged: user_created, login, login_failed, login_refused, \
            refresh, refresh_reuse_detected, session_ended (with the reason: logout, \
            forced_logout, revoked, single_login, user_disabled, ...), grant_revoked, \
            token_revoked, password_changed, policy_changed, client_added, client_removed, \
            client_tokens_revoked (its watermark: tokens of the client issued until then are void), \
            key_added, key_rotated, key_deleted, key_withdrawn. ACTOR is the client address, `hub` or \
            `cli:<login>`. Times are UTC.

            With --json, prints one JSON array; with --json --follow, one JSON object per line \
            (JSON Lines) as events happen. Ctrl-C ends --follow with exit status 0.
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(help: "After the recent events, print new ones as they happen until Ctrl-C.")
    var follow = false

    @Option(help: ArgumentHelp("Only events of this user (login name).", valueName: "user"))
    var user: String?

    @Option(name: .customLong("type"), help: ArgumentHelp("Only events of this type (repeatable), e.g. login.", valueName: "type"))
    var types: [String] = []

    @Option(help: ArgumentHelp("How many recent events to show first (default 50; 0 with --follow: only new ones).", valueName: "n"))
    var count: Int = 50

    /// How far back a filtered listing searches, per stream.
    static let filteredSearchDepth = 2000

    func validate() throws {
        if let user { try Users.checkName(user) }
        guard (0...Self.filteredSearchDepth).contains(count) else {
            throw ValidationError("--count is 0 to \(Self.filteredSearchDepth)")
        }
    }

    func run() async throws {
        try await StoreConnection.run(global) { connection in
            let store = connection.store
            var names: [String: String] = [:]
            for record in try await store.users() { names[record.id] = record.username }
            var userID: String?
            if let user { userID = try await connection.existingUser(user).id }
            let filter = EventFilter(userID: userID, types: Set(types))

            // Where following starts is fixed before the backlog is read, so no event falls
            // between the two and none is printed twice.
            var positions: [String: String] = [:]
            if follow { positions = try await store.eventStreamPositions() }
            var backlog: [StoreEvent] = []
            if count > 0 {
                let recent = try await store.recentEvents(count: filter.isEmpty ? count : Self.filteredSearchDepth)
                let matching = recent.filter { event in
                    guard filter.matches(event) else { return false }
                    guard let position = positions[event.stream] else { return true }
                    return !HallpassStore.streamID(position, precedes: event.id)
                }
                backlog = Array(matching.suffix(count))
            }
            let printer = EventPrinter(json: global.json, lines: follow)
            printer.printBacklog(backlog, names: names)
            guard follow else { return }

            let redis = store.redis
            // Every node's streams: one connection on a single server, one per master on a cluster.
            let tail = CurrentTail(try await EventLogTail.open(redis: redis))
            let interrupts = Interrupts { Task { await tail.current.close() } }
            interrupts.install()
            Console.note("following the event log; Ctrl-C ends")
            var reopened = 0
            while !interrupts.stopped {
                let batch: [StoreEvent]
                do {
                    batch = try await tail.current.read(after: positions, count: 100, block: 1000)
                    reopened = 0
                } catch {
                    if interrupts.stopped { break }
                    await tail.current.close()
                    // A cluster's layout changed (MOVED) or a master failed over: group the
                    // streams anew and go on from the same positions, a few times in a row.
                    guard case .cluster = redis.configuration.topology, reopened < 5 else { throw error }
                    reopened += 1
                    try await Task.sleep(for: .milliseconds(200 * reopened))
                    let fresh = try await EventLogTail.open(redis: redis)
                    tail.current = fresh
                    if interrupts.stopped { await fresh.close() }
                    continue
                }
                for event in batch {
                    if let seen = positions[event.stream], !HallpassStore.streamID(seen, precedes: event.id) { continue }
                    positions[event.stream] = event.id
                    if event.type == "user_created", !event.user.isEmpty { names[event.user] = event.detail }
                    if filter.matches(event) { printer.printLine(event, names: names) }
                }
                Console.flush()
            }
            await tail.current.close()
        }
    }
}

extension StoreError {
    /// A store error for whatever a Redis call threw.
    init(wrapping error: any Error) {
        if let error = error as? RedisError {
            self = StoreError.unavailable(error)
        } else {
            self = StoreError.failed(.unexpectedReply("\(error)"))
        }
    }
}

/// Which events to show.
struct EventFilter {
    var userID: String?
    var types: Set<String>

    var isEmpty: Bool { userID == nil && types.isEmpty }

    func matches(_ event: StoreEvent) -> Bool {
        if let userID, event.user != userID { return false }
        if !types.isEmpty, !types.contains(event.type) { return false }
        return true
    }
}

/// Prints events as a table, as aligned lines (while following) or as JSON.
struct EventPrinter {
    let json: Bool
    /// One line per event (JSON Lines, or text lines) instead of one document or table.
    let lines: Bool

    func printBacklog(_ events: [StoreEvent], names: [String: String]) {
        if lines {
            for event in events { printLine(event, names: names) }
            Console.flush()
        } else if json {
            Console.json(.array(events.map { Self.json($0, names: names) }))
        } else if events.isEmpty {
            Console.note("no events")
        } else {
            var table = Table("TIME", "TYPE", "USER", "SID", "CLIENT", "ACTOR", "DETAIL")
            for event in events {
                let fields = Self.fields(event, names: names)
                table.add(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6])
            }
            table.print()
        }
    }

    func printLine(_ event: StoreEvent, names: [String: String]) {
        if json {
            Console.json(Self.json(event, names: names))
            return
        }
        let fields = Self.fields(event, names: names).map { $0.isEmpty ? "-" : Console.oneLine($0) }
        func padded(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        print(padded(fields[0], 25) + "  " + padded(fields[1], 22) + "  " + padded(fields[2], 12) + "  "
            + fields[3...].joined(separator: "  "))
    }

    /// Time (ms precision), type, user, sid, client, actor, detail.
    static func fields(_ event: StoreEvent, names: [String: String]) -> [String] {
        let milliseconds = String(event.timestamp % 1000)
        let padding = String(repeating: "0", count: 3 - milliseconds.count)
        let seconds = String(Console.timestamp(event.timestamp / 1000, seconds: true).dropLast())
        let time = seconds + "." + padding + milliseconds + "Z"
        return [
            time, event.type, names[event.user] ?? event.user, event.session, event.client, event.actor, event.detail,
        ]
    }

    static func json(_ event: StoreEvent, names: [String: String]) -> JSONValue {
        [
            "id": .string(event.id),
            "time": .integer(event.timestamp),
            "type": .string(event.type),
            "user": names[event.user].map { .string($0) } ?? .null,
            "user_id": .string(event.user),
            "sid": .string(event.session),
            "client": .string(event.client),
            "actor": .string(event.actor),
            "detail": .string(event.detail),
        ]
    }
}

/// Ctrl-C (and SIGTERM) while following: stop at once instead of dying mid-output. The
/// signals are taken from their default action and delivered on a dispatch queue; `onStop`
/// interrupts the blocking read.
/// The event log tail being read, which a signal handler closes and a reopen replaces.
final class CurrentTail: Sendable {
    private let tail: Mutex<EventLogTail>

    init(_ tail: EventLogTail) {
        self.tail = Mutex(tail)
    }

    var current: EventLogTail {
        get { self.tail.withLock { $0 } }
        set { self.tail.withLock { $0 = newValue } }
    }
}

final class Interrupts: Sendable {
    private let state = Mutex(false)
    private let onStop: @Sendable () -> Void
    // Dispatch sources are kept alive for the life of the process.
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    init(onStop: @escaping @Sendable () -> Void) {
        self.onStop = onStop
    }

    var stopped: Bool { state.withLock { $0 } }

    func install() {
        for number in [SIGINT, SIGTERM] {
            _ = signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in self.stop() }
            source.resume()
            Self.sources.append(source)
        }
    }

    func stop() {
        let first = state.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        if first { onStop() }
    }
}
