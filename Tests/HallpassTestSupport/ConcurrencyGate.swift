/// Bounds how many of one kind of fixture (in-process hubs, multi-process Redis topologies) run
/// at once in this test process; the tests over the bound wait their turn, suspended.
///
/// Swift Testing starts every test of a pass at once, and the test process's cooperative pool
/// has one thread per core. A hundred hubs starting together on two cores each took most of
/// their 20 s readiness budget (a 413 test ran 19 s) and, on a slower CI machine, all of it: 90
/// tests failed waiting for a hub, not for what they test. A few at a time finish sooner.
///
/// A task that already holds a slot of a gate runs nested uses of it at once (a test running
/// two hubs takes one slot), so a test never waits on itself.
public final class ConcurrencyGate: Sendable {
    /// One slot for every in-process hub a hub test runs.
    public static let hubs = ConcurrencyGate(limit: 6)
    /// Sentinel setups and clusters: three to six Redis processes each, whose replicas fork
    /// for their first sync.
    public static let topologies = ConcurrencyGate(limit: 2)

    @TaskLocal private static var held: Set<ObjectIdentifier> = []

    private let slots: Slots

    public init(limit: Int) { slots = Slots(limit: limit) }

    /// Runs `body` holding a slot, waiting for one first unless this task holds one already.
    public func withSlot<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        let id = ObjectIdentifier(self)
        if Self.held.contains(id) { return try await body() }
        await slots.enter()
        do {
            let result = try await Self.$held.withValue(Self.held.union([id])) { try await body() }
            await slots.leave()
            return result
        } catch {
            await slots.leave()
            throw error
        }
    }

    private actor Slots {
        private let limit: Int
        private var running = 0
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(limit: Int) { self.limit = limit }

        func enter() async {
            if running < limit {
                running += 1
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        func leave() {
            if waiting.isEmpty {
                running -= 1
            } else {
                // The slot passes straight to the next waiter.
                waiting.removeFirst().resume()
            }
        }
    }
}
