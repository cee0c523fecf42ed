import AsyncHTTPClient
import HallpassJOSE
import HallpassStore
import Logging
import NIOCore
import ServiceLifecycle

/// Delivers OIDC Back-Channel Logout 1.0 logout tokens from the durable queue in Redis, and
/// ends sessions whose idle or absolute timeout passed.
///
/// Every script that ends a session (logout, forced logout, revocation, disabling a user,
/// single-login eviction, refresh-token reuse, the expiry sweep) queues one delivery per
/// client of the session in the same atomic step, so no end of a session goes unnotified,
/// whatever happens to the hub afterwards. Every hub runs this loop over every shard:
///
/// 1. every ``BackchannelLogoutSettings/sweepInterval``, end timed-out sessions
///    (``HallpassStore/sweepExpiredSessions(shard:limit:)``);
/// 2. every ``BackchannelLogoutSettings/pollInterval``, claim due deliveries
///    (``HallpassStore/claimLogoutDeliveries(shard:limit:lease:)``: an atomic script, so one
///    hub sends a given attempt), POST each token to the client's registered URI, and record
///    the outcome: 2xx is delivered, anything else is retried with exponential backoff and
///    jitter until ``BackchannelLogoutSettings/giveUpAfter`` has passed since the session
///    ended, then recorded as failed.
///
/// A hub that dies between claiming and recording leaves the delivery to be claimed again when
/// its lease runs out: delivery is at least once, exactly once in the normal case.
final class BackchannelLogoutService: Service, Sendable {
    private let store: HallpassStore
    private let keyRing: KeyRing
    private let clients: ClientCache
    private let metrics: HubMetrics
    private let logger: Logger
    private let settings: BackchannelLogoutSettings
    private let minter: LogoutTokenMinter

    init(services: HubServices) {
        store = services.store
        keyRing = services.keyRing
        clients = services.clients
        metrics = services.metrics
        logger = services.logger
        settings = services.configuration.backchannelLogout
        minter = LogoutTokenMinter(issuer: services.configuration.issuer, lifetime: settings.tokenLifetime)
    }

    /// The HTTP client of one run: made in ``run()`` and shut down there, so an application
    /// that is built but never run leaves no client behind.
    private func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        // A logout endpoint that redirects is misconfigured; the spec has no redirects here.
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(
            connect: .milliseconds(settings.requestTimeout), read: .milliseconds(settings.requestTimeout))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// How long a claimed attempt is hidden from other hubs (ms): longer than one POST can take.
    private var lease: Int64 { settings.requestTimeout * 2 + 5000 }

    func run() async throws {
        let http = makeHTTPClient()
        var nextSweep: Int64 = 0
        while !Task.isCancelledOrShuttingDown {
            do {
                let now = store.clock()
                if now >= nextSweep {
                    nextSweep = now + settings.sweepInterval
                    try await sweep()
                }
                let depth = try await store.logoutQueueDepth()
                metrics.logoutQueueDepth(depth)
                if depth > 0, try await deliverDue(http) {
                    continue  // a full batch: more may be due at once
                }
            } catch {
                logger.warning("back-channel logout loop: store unavailable; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .milliseconds(settings.pollInterval))
        }
        try? await http.shutdown()
    }

    private func sweep() async throws(StoreError) {
        let limit = 100
        for shard in 0..<StoreSchema.shardCount {
            var ended = 0
            var rounds = 0
            repeat {
                let batch = try await store.sweepExpiredSessions(shard: shard, limit: limit)
                ended += batch
                rounds += 1
                if batch < limit { break }
            } while rounds < 20
            if ended > 0 {
                metrics.sessionsExpired(ended)
                logger.info("ended timed-out sessions", metadata: ["count": "\(ended)", "shard": "\(shard)"])
            }
        }
    }

    /// Claims and sends what is due; returns whether a shard had a full batch.
    private func deliverDue(_ http: HTTPClient) async throws(StoreError) -> Bool {
        let batch = 32
        var claimed: [LogoutDelivery] = []
        var full = false
        for shard in 0..<StoreSchema.shardCount {
            let due = try await store.claimLogoutDeliveries(shard: shard, limit: batch, lease: lease)
            if due.count == batch { full = true }
            claimed += due
        }
        guard !claimed.isEmpty else { return false }
        await withTaskGroup(of: Void.self) { group in
            for delivery in claimed {
                group.addTask { await self.deliver(delivery, http) }
            }
        }
        return full
    }

    /// Sends one logout token and records the outcome.
    func deliver(_ delivery: LogoutDelivery, _ http: HTTPClient) async {
        let outcome: LogoutDeliveryOutcome
        switch await send(delivery, http) {
        case .success(true):
            outcome = .delivered
        case .success(false):
            outcome = .skipped
        case .failure(let problem):
            let now = store.clock()
            if now - delivery.endedAt >= settings.giveUpAfter {
                outcome = .failed(error: problem.text)
            } else {
                let delay = settings.backoff(afterAttempt: delivery.attempt)
                let jittered = delay / 2 + Int64.random(in: 0...(delay - delay / 2))
                outcome = .retry(nextAttempt: now + jittered, error: problem.text)
            }
        }
        let metadata: Logger.Metadata = [
            "client": "\(delivery.clientID)", "sid": "\(delivery.sessionID)", "attempt": "\(delivery.attempt)",
        ]
        switch outcome {
        case .delivered:
            metrics.logoutDelivery("delivered")
            logger.info("back-channel logout delivered", metadata: metadata)
        case .skipped:
            metrics.logoutDelivery("skipped")
        case .retry(_, let error):
            metrics.logoutDelivery("retry")
            logger.notice("back-channel logout failed; will retry", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        case .failed(let error):
            metrics.logoutDelivery("failed")
            logger.error("back-channel logout given up", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
        do {
            try await store.finishLogoutDelivery(delivery, outcome)
        } catch {
            // The lease runs out and the delivery is claimed again.
            logger.warning("could not record a back-channel logout outcome", metadata: ["error": "\(error)"])
        }
    }

    struct Problem: Error {
        let text: String
    }

    /// `true`: acknowledged; `false`: the client has no back-channel URI.
    private func send(_ delivery: LogoutDelivery, _ http: HTTPClient) async -> Result<Bool, Problem> {
        let client: ClientRecord?
        do {
            client = try await clients.client(id: delivery.clientID)
        } catch {
            return .failure(Problem(text: "store: \(error)"))
        }
        guard let uri = client?.backchannelLogoutURI, !uri.isEmpty else { return .success(false) }
        guard let signer = keyRing.snapshot?.keys.signer else { return .failure(Problem(text: "no signing key loaded")) }
        let token: String
        do {
            token = try minter.logoutToken(
                userID: delivery.userID, sessionID: delivery.sessionID, clientID: delivery.clientID, signer: signer,
                now: store.clock() / 1000)
        } catch {
            return .failure(Problem(text: "signing failed"))
        }
        var request = HTTPClientRequest(url: uri)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        // A JWS compact serialization is base64url and dots: nothing to percent-encode.
        request.body = .bytes(ByteBuffer(string: "logout_token=" + token))
        do {
            let response = try await http.execute(request, timeout: .milliseconds(settings.requestTimeout))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else { return .failure(Problem(text: "HTTP \(status)")) }
            return .success(true)
        } catch {
            return .failure(Problem(text: Self.describe(error)))
        }
    }

    /// A short, token-free description of a transport error.
    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.lowercased().contains("refused") { return "connection refused" }
        if let error = error as? HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout { return "timeout" }
        }
        return String(text.prefix(200))
    }
}
