/// Polls `condition` every 20 ms until it returns true, and throws a ``TestSupportErrorBox``
/// naming `what` once `seconds` have passed without it.
///
/// For waiting on something outside the test's control (Redis's own expiry, a delivery from
/// another task, a server coming back), never for asserting how fast it happens: bounds are
/// generous because the machine may be shared. With `toleratingErrors`, a condition that
/// throws counts as "not yet" (a hub or Redis in the middle of restarting); otherwise its error
/// ends the wait.
public func waitUntil(
    _ what: String,
    seconds: Double = 10,
    toleratingErrors: Bool = false,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if toleratingErrors {
            if (try? await condition()) == true { return }
        } else if try await condition() {
            return
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestSupportErrorBox(description: "timed out waiting for \(what)")
}
