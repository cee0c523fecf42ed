// The framework's own floor for ops/bench hub: a Hummingbird 2 application with one route and
// no middleware, answering `GET /healthz` with the same body as the hub. What it costs per
// request is what any Hummingbird endpoint costs on this machine before doing any work, so the
// hub's figures can be read against it.
import Hummingbird
import Logging

func serveFrameworkFloor(port: Int) async throws {
    var logger = Logger(label: "hallpass-bench.framework-floor")
    logger.logLevel = .warning
    let router = Router()
    router.get("/healthz") { _, _ in
        Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
    }
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "framework-floor"),
        logger: logger)
    try await app.runService()
}
