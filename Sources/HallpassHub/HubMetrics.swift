import CoreMetrics
import Metrics
import Prometheus

/// The hub's metrics, in its own Prometheus registry (no global state, so several hubs can
/// run in one test process).
final class HubMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5),
        ]
        self.factory = factory
    }

    func request(endpoint: String, method: String, status: Int, duration: Duration) {
        Counter(
            label: "hallpass_http_requests_total",
            dimensions: [("endpoint", endpoint), ("method", method), ("status", String(status))], factory: factory
        ).increment()
        Timer(label: "hallpass_http_request_duration_seconds", dimensions: [("endpoint", endpoint)], factory: factory)
            .recordNanoseconds(duration.nanoseconds)
    }

    /// `result`: success, bad_credentials, throttled, session_exists, disabled.
    func login(_ result: String) {
        Counter(label: "hallpass_logins_total", dimensions: [("result", result)], factory: factory).increment()
    }

    /// `result`: rotated, replayed, reuse_detected, invalid.
    func refresh(_ result: String) {
        Counter(label: "hallpass_refreshes_total", dimensions: [("result", result)], factory: factory).increment()
        if result == "reuse_detected" {
            Counter(label: "hallpass_refresh_reuse_detections_total", factory: factory).increment()
        }
    }

    /// `kind`: grant, access_token, session.
    func revocation(_ kind: String) {
        Counter(label: "hallpass_revocations_total", dimensions: [("kind", kind)], factory: factory).increment()
    }

    func exposition() -> [UInt8] { registry.emitToBuffer() }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
