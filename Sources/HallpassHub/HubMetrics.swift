import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// The hub's metrics, in its own Prometheus registry (no global state, so several hubs can
/// run in one test process).
final class HubMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    // Metric handles by label and dimensions: building one goes through the registry's lock
    // and name sanitizing, too much to repeat on every request.
    private let counters = Mutex<[CounterKey: CoreMetrics.Counter]>([:])
    private let requestHandles = Mutex<[RequestSeries: RequestHandles]>([:])
    private let queueDepth: CoreMetrics.Gauge
    private let connections: CoreMetrics.Gauge

    init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2.5),
        ]
        self.factory = factory
        queueDepth = CoreMetrics.Gauge(label: "hallpass_backchannel_logout_queue_depth", factory: factory)
        connections = CoreMetrics.Gauge(label: "hallpass_open_connections", factory: factory)
    }

    func request(endpoint: String, method: String, status: Int, duration: Duration) {
        // One lookup per request, keyed by a struct rather than a built string: every request
        // passes here.
        let series = RequestSeries(endpoint: endpoint, method: method, status: status)
        let handles = requestHandles.withLock { handles in
            if let existing = handles[series] { return existing }
            let made = RequestHandles(
                count: CoreMetrics.Counter(
                    label: "hallpass_http_requests_total",
                    dimensions: [("endpoint", endpoint), ("method", method), ("status", String(status))], factory: factory),
                duration: CoreMetrics.Timer(
                    label: "hallpass_http_request_duration_seconds", dimensions: [("endpoint", endpoint)], factory: factory))
            handles[series] = made
            return made
        }
        handles.count.increment()
        handles.duration.recordNanoseconds(duration.nanoseconds)
    }

    /// The counter `label`, with at most one dimension: every counter of the hub has one or none.
    private func counter(_ label: String, _ dimension: (name: String, value: String)? = nil) -> CoreMetrics.Counter {
        // Keyed by a struct of the parts, not a string built from them: logins, refreshes and
        // revocations count here on every request.
        let key = CounterKey(label: label, dimensionName: dimension?.name, dimensionValue: dimension?.value)
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(label: label, dimensions: dimension.map { [($0.name, $0.value)] } ?? [], factory: factory)
            counters[key] = counter
            return counter
        }
    }

    /// `result`: success, reauthenticated, sso, code, device, bad_credentials, throttled, device_code_throttled (wrong
    /// user codes at the device verification page), session_exists, disabled.
    func login(_ result: String) {
        counter("hallpass_logins_total", ("result", result)).increment()
    }

    /// `result`: rotated, replayed, reuse_detected, invalid.
    func refresh(_ result: String) {
        counter("hallpass_refreshes_total", ("result", result)).increment()
        if result == "reuse_detected" {
            counter("hallpass_refresh_reuse_detections_total").increment()
        }
    }

    /// `kind`: grant, access_token, session.
    func revocation(_ kind: String) {
        counter("hallpass_revocations_total", ("kind", kind)).increment()
    }

    /// `result`: delivered, retry, failed, skipped (the client has no back-channel URI).
    func logoutDelivery(_ result: String) {
        counter("hallpass_backchannel_logout_deliveries_total", ("result", result)).increment()
    }

    /// Back-channel logout deliveries queued (pending or waiting to retry), over all hubs.
    func logoutQueueDepth(_ depth: Int) {
        queueDepth.record(depth)
    }

    /// Sessions the expiry sweep ended.
    func sessionsExpired(_ count: Int) {
        counter("hallpass_sessions_expired_total").increment(by: count)
    }

    /// Client connections open now (refused ones included until they close).
    func openConnections(_ count: Int) {
        connections.record(count)
    }

    /// A connection the hub closed, or refused, because of one of its ``ConnectionLimits``.
    func connectionClosed(_ reason: ConnectionClosure) {
        counter("hallpass_connections_closed_total", ("reason", reason.rawValue)).increment()
    }

    func exposition() -> [UInt8] { registry.emitToBuffer() }

    /// Why the hub closed a connection: the `reason` of `hallpass_connections_closed_total`.
    /// Keep-alive connections closed by the idle timeout are not counted: Hummingbird closes
    /// them, as it closes any connection whose client is done.
    enum ConnectionClosure: String {
        /// Refused on arrival: ``ConnectionLimits/maximumConnections`` were open.
        case maximumConnections = "max_connections"
        /// No complete request head within ``ConnectionLimits/headerTimeout``.
        case headerTimeout = "header_timeout"
        /// A head over ``ConnectionLimits/maximumHeaderBytes`` or ``ConnectionLimits/maximumHeaderCount`` (431).
        case headerTooLarge = "header_too_large"
        /// Any other malformed request (400): garbage, both Content-Length and Transfer-Encoding.
        case badRequest = "bad_request"
    }

    /// One counter series.
    private struct CounterKey: Hashable {
        let label: String
        let dimensionName: String?
        let dimensionValue: String?
    }

    /// One series of the request metrics.
    private struct RequestSeries: Hashable {
        let endpoint: String
        let method: String
        let status: Int
    }

    /// The request counter of one series and the latency histogram of its endpoint (the
    /// registry hands every series of an endpoint the same histogram).
    private struct RequestHandles: Sendable {
        let count: CoreMetrics.Counter
        let duration: CoreMetrics.Timer
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
