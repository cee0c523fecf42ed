import Hummingbird
import NIOCore

/// `GET /openapi.json`: the OpenAPI 3.1 description of the hub's HTTP API (docs/OPENAPI.md).
///
/// The bytes are `Resources/openapi.json`, embedded by SwiftPM at build time, so what the hub
/// serves is the committed file itself; OpenAPIDocumentTests checks that file against the
/// routes `Hub.makeRouter` registers.
enum OpenAPIDocument {
    static let path = "/openapi.json"

    static let bytes: [UInt8] = PackageResources.openapi_json

    /// The document. It changes only with the binary, so caches may keep it for an hour.
    static func response() -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=3600"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
