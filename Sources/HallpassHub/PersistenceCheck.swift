import HallpassStore
import Logging
import ServiceLifecycle

/// Says at every start, plainly, when Redis cannot keep the durability promise (CONTRACT
/// section 5): no fsync before the reply on one server, too few replicas for the security
/// writes to wait for. It asks once Redis answers, then waits for the hub to stop (a service
/// that returns would stop the hub); the hub serves meanwhile.
struct PersistenceCheck: Service {
    let store: HallpassStore
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.check() }
        try? await gracefulShutdown()
    }

    private func check() async {
        var delay = Duration.milliseconds(200)
        while !Task.isCancelled {
            do throws(StoreError) {
                let reports = try await store.persistenceReports()
                for report in reports {
                    for warning in report.warnings { logger.warning("\(warning)") }
                    for note in report.notes { logger.notice("\(note)") }
                }
                if reports.allSatisfy({ $0.warnings.isEmpty }) {
                    logger.info("Redis keeps acknowledged security writes", metadata: ["durability": "\(store.durability)"])
                }
                return
            } catch {
                // Redis is not reachable yet; the hub already says so through /readyz.
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
