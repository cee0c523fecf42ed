import Foundation
import HallpassTestSupport
import Synchronization

/// What a load on a hub saw through a fault: every status, the 400 error codes, and when
/// requests failed.
final class LoadRecord: Sendable {
    private let state = Mutex<(statuses: [Int: Int], codes: [String: Int], firstFailure: ContinuousClock.Instant?, lastFailure: ContinuousClock.Instant?)>(
        ([:], [:], nil, nil))

    func record(_ reply: HTTPReply) {
        state.withLock { state in
            state.statuses[reply.status, default: 0] += 1
            if reply.status == 400 { state.codes[reply.string("error") ?? "?", default: 0] += 1 }
            if reply.status != 200 {
                let now = ContinuousClock.now
                if state.firstFailure == nil { state.firstFailure = now }
                state.lastFailure = now
            }
        }
    }

    var statuses: [Int: Int] { state.withLock { $0.statuses } }
    var codes: [String: Int] { state.withLock { $0.codes } }
    /// From the first failed request to the last (zero when none failed).
    var unavailableWindow: Duration {
        state.withLock { state in
            guard let first = state.firstFailure, let last = state.lastFailure else { return .zero }
            return first.duration(to: last)
        }
    }
    var successes: Int { statuses[200] ?? 0 }
}

extension HubFixture {
    /// Logs `user` in and refreshes the new session three times, over and over, recording every
    /// reply in `record`, until the task is cancelled. A transport error (the hub gone) ends it.
    func runLoginRefreshLoad(user: String, password: String, client: String, secret: String, into record: LoadRecord) -> Task<Void, any Error> {
        Task {
            while !Task.isCancelled {
                let login = try await self.login(user, password: password, client: client, secret: secret)
                record.record(login)
                var refresh = login.string("refresh_token")
                for _ in 0..<3 where !Task.isCancelled {
                    guard let token = refresh else { break }
                    let reply = try await self.refresh(token, client: client, secret: secret)
                    record.record(reply)
                    refresh = reply.string("refresh_token")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }
}
