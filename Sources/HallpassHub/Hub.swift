import HallpassJOSE
import HallpassRedis
import HallpassStore
public import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
import ServiceLifecycle

/// The hub: builds the Hummingbird application that serves the OAuth 2.0 / OpenID Connect
/// endpoints over the store.
public enum Hub {
    /// An application for `configuration`, ready to `runService()`.
    ///
    /// Nothing here touches Redis: a hub whose Redis is down starts anyway, answers `/readyz`
    /// and every token request with 503, and recovers by itself when Redis comes back.
    ///
    /// - Parameter onServerRunning: Called with the bound port once the server listens (with
    ///   port 0, the port the system picked).
    public static func application(
        configuration: HubConfiguration,
        logger: Logger = Logger(label: "hallpass.hub"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        try configuration.validate()
        let redisConfiguration = try configuration.redisConfiguration()
        if configuration.keyEncryptionKey == nil {
            logger.warning("no key-encryption key (--kek-file): signing keys are stored in Redis unencrypted")
        }
        let redis = RedisClient(configuration: redisConfiguration, logger: logger)
        let store = HallpassStore(redis: redis, durability: configuration.durability(for: redisConfiguration.topology))
        let passwords = try PasswordVerifier(parameters: configuration.passwordParameters, threads: configuration.passwordHashingThreads)
        let metrics = HubMetrics()
        let services = HubServices(configuration: configuration, store: store, passwords: passwords, metrics: metrics, logger: logger)
        let router = makeRouter(services)
        let feed = try GlobalChangeFeed(store: store, keyRing: services.keyRing, clients: services.clients, logger: logger)
        let limits = configuration.connectionLimits
        let fileDescriptors = FileDescriptorLimit.current()
        let maximumConnections = limits.effectiveMaximumConnections(fileDescriptorLimit: fileDescriptors)
        if maximumConnections < limits.maximumConnections {
            logger.warning(
                "--max-connections lowered to what the file descriptor limit allows",
                metadata: [
                    "max_connections": "\(maximumConnections)", "requested": "\(limits.maximumConnections)",
                    "open_files_limit": "\(fileDescriptors)",
                ])
        }
        var background: [any Service] = [services.keyRing, PersistenceCheck(store: store, logger: logger)]
        if configuration.backchannelLogout.enabled { background.append(BackchannelLogoutService(services: services)) }
        background.append(Teardown(redis: redis, passwords: passwords))
        // Last, so it stops first (services stop in reverse order) and withdraws this hub's
        // report while Redis is still connected: the CLI then does not wait for a stopped hub.
        background.append(feed)
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in
                HubHTTPChannel(responder: responder, limits: limits, maximumConnections: maximumConnections, metrics: metrics)
            },
            // A backlog of 1024 rather than Hummingbird's 256: a burst of new connections
            // waits in the kernel's queue instead of being dropped and retried a second later.
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "hallpass-hub", backlog: 1024),
            services: background,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }

    static func makeRouter(_ services: HubServices) -> Router<HubRequestContext> {
        let router = Router(context: HubRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: services.metrics))
        router.add(middleware: ErrorMiddleware(logger: services.logger))

        let discovery = DiscoveryEndpoints(services: services)
        router.get(RouterPath(Paths.discovery), use: discovery.discovery)
        router.get(RouterPath(Paths.jwks), use: discovery.jwks)

        let token = TokenEndpoint(services: services)
        router.post(RouterPath(Paths.token), use: token.handle)

        let state = TokenStateEndpoints(services: services)
        router.post(RouterPath(Paths.revocation), use: state.revoke)
        router.post(RouterPath(Paths.introspection), use: state.introspect)

        let browser = BrowserEndpoints(services: services)
        router.get(RouterPath(Paths.authorization), use: browser.authorize)
        router.post(RouterPath(Paths.authorization), use: browser.authorize)
        router.post(RouterPath(BrowserEndpoints.loginPath), use: browser.login)
        let gate = SignInGate(services: services, browser: browser)
        router.post(RouterPath(SignInGate.codePath), use: gate.submitCode)
        router.post(RouterPath(SignInGate.enrollmentPath), use: gate.confirmEnrollment)

        let account = AccountEndpoints(services: services, browser: browser)
        router.get(RouterPath(AccountEndpoints.path), use: account.show)
        router.post(RouterPath(AccountEndpoints.signInPath), use: account.signIn)
        router.post(RouterPath(AccountEndpoints.sessionsPath), use: account.endSessions)
        router.post(RouterPath(AccountEndpoints.passwordPath), use: account.changePassword)
        router.post(RouterPath(AccountEndpoints.setUpPath), use: account.setUp)
        router.post(RouterPath(AccountEndpoints.confirmPath), use: account.confirm)
        router.post(RouterPath(AccountEndpoints.turnOffPath), use: account.turnOff)
        router.post(RouterPath(AccountEndpoints.recoveryCodesPath), use: account.regenerateRecoveryCodes)

        let device = DeviceAuthorizationEndpoint(services: services)
        router.post(RouterPath(Paths.deviceAuthorization), use: device.handle)
        let verification = DeviceVerificationEndpoints(services: services, browser: browser)
        router.get(RouterPath(Paths.deviceVerification), use: verification.show)
        router.post(RouterPath(Paths.deviceVerification), use: verification.enterCode)
        router.post(RouterPath(DeviceVerificationEndpoints.signInPath), use: verification.signIn)
        router.post(RouterPath(DeviceVerificationEndpoints.decisionPath), use: verification.decide)

        let sessions = SessionEndpoints(services: services, browser: browser)
        router.get(RouterPath(Paths.endSession), use: sessions.endSession)
        router.post(RouterPath(Paths.endSession), use: sessions.endSession)
        router.get(RouterPath(Paths.userinfo), use: sessions.userinfo)
        router.post(RouterPath(Paths.userinfo), use: sessions.userinfo)

        router.get(RouterPath(OpenAPIDocument.path)) { _, _ in OpenAPIDocument.response() }

        router.get("/healthz") { _, _ in Reply.json(["status": "ok"], noStore: false) }
        router.get("/readyz") { _, _ in
            do {
                try await services.store.ping()
            } catch {
                return Reply.json(["status": "unavailable", "store": "unreachable"], status: .serviceUnavailable)
            }
            guard services.keyRing.snapshot?.keys.signer != nil else {
                return Reply.json(["status": "unavailable", "signing_key": "not loaded"], status: .serviceUnavailable)
            }
            return Reply.json(["status": "ok"], noStore: false)
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: services.metrics.exposition())))
        }
        return router
    }
}

/// Closes the Redis client and the password threads when the application stops.
private struct Teardown: Service {
    let redis: RedisClient
    let passwords: PasswordVerifier

    func run() async throws {
        try? await gracefulShutdown()
        await redis.shutdown()
        await passwords.shutdown()
    }
}
