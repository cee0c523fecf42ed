import HallpassJOSE
import HallpassStore
public import Hummingbird
import HTTPTypes
public import NIOCore
import Logging

/// The request context of the hub: Hummingbird's core storage plus the peer address, which
/// login throttling keys on.
public struct HubRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address as text.
    var clientAddress: String { remoteAddress?.ipAddress ?? "unknown" }
}

/// Building responses.
enum Reply {
    static let pragma = HTTPField.Name("Pragma")!
    /// A JSON response. Token-bearing answers are `no-store` (RFC 6749 section 5.1).
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, noStore: Bool = true, headers: HTTPFields = [:]) -> Response {
        json(value.serialized, status: status, noStore: noStore, headers: headers)
    }

    /// A JSON response from bytes already serialized (see `JSONObjectWriter`).
    static func json(_ serialized: [UInt8], status: HTTPResponse.Status = .ok, noStore: Bool = true, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        if noStore {
            fields[.cacheControl] = "no-store"
            fields[Self.pragma] = "no-cache"
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: serialized)))
    }

    static func error(_ error: OAuthError) -> Response {
        json(["error": .string(error.code), "error_description": .string(error.description)], status: error.status, headers: error.headers)
    }

    static func empty(_ status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.cacheControl: "no-store"])
    }
}

extension Request {
    /// The body as a strict form (RFC 6749 appendix B), at most `limit` bytes.
    func form(limit: Int) async throws -> FormBody {
        guard var type = headers[.contentType],
            type.withUTF8({ type in
                let mediaType = UnsafeBufferPointer(rebasing: type[..<(type.firstIndex(of: UInt8(ascii: ";")) ?? type.count)])
                return mediaType.trimmingSpaces.equalsIgnoringASCIICase("application/x-www-form-urlencoded")
            })
        else {
            throw OAuthError.invalidRequest("the body must be application/x-www-form-urlencoded")
        }
        let buffer = try await body.collect(upTo: limit)
        do {
            return try buffer.withUnsafeReadableBytes { raw in
                Result { () throws(FormBody.Failure) in try FormBody(parsing: raw.assumingMemoryBound(to: UInt8.self)) }
            }.get()
        } catch .repeated(let name) {
            throw OAuthError.invalidRequest("parameter \(name.prefix(64)) appears more than once")
        } catch .notUTF8 {
            throw OAuthError.invalidRequest("the body is not UTF-8")
        } catch {
            throw OAuthError.invalidRequest("the body is not valid form encoding")
        }
    }

    /// The token of an `Authorization: Bearer` header (RFC 6750 section 2.1).
    var bearerToken: String? {
        guard var value = headers[.authorization] else { return nil }
        return value.withUTF8 { bytes in
            guard bytes.count > 7, UnsafeBufferPointer(rebasing: bytes[..<7]).equalsIgnoringASCIICase("bearer ") else { return nil }
            let token = UnsafeBufferPointer(rebasing: bytes[7...]).trimmingSpaces
            return token.isEmpty ? nil : String(decoding: token, as: UTF8.self)
        }
    }
}

/// Maps every error to the contract's JSON shape and a correct status: a bad request never
/// answers 500, and nothing secret reaches a body.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as OAuthError {
            return Reply.error(error)
        } catch let error as StoreError {
            switch error {
            case .unavailable:
                logger.warning("store unavailable", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                return Reply.error(.storeUnavailable)
            case .notDurable:
                // Made on the master but not confirmed by the replicas: not reported done
                // (CONTRACT section 5); the client may retry, and the retry is harmless.
                logger.warning("security write not confirmed durable", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                return Reply.error(.storeUnavailable)
            default:
                logger.error("store failure", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                return Reply.error(OAuthError("server_error", "the server could not complete the request", status: .internalServerError))
            }
        } catch let error as any HTTPResponseError {
            switch error.status {
            case .contentTooLarge:
                return Reply.error(OAuthError("invalid_request", "the request body is too large", status: .contentTooLarge))
            case .notFound:
                return Reply.error(OAuthError("not_found", "no such endpoint", status: .notFound))
            case .methodNotAllowed:
                return Reply.error(OAuthError("invalid_request", "method not allowed", status: .methodNotAllowed))
            case let status where status.code < 500:
                return Reply.error(OAuthError("invalid_request", "the request is malformed", status: status))
            default:
                logger.error("request failed", metadata: ["path": "\(request.uri.path)", "status": "\(error.status.code)"])
                return Reply.error(OAuthError("server_error", "the server could not complete the request", status: error.status))
            }
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(describing: type(of: error)))"])
            return Reply.error(OAuthError("server_error", "the server could not complete the request", status: .internalServerError))
        }
    }
}

/// Counts requests and their latency per endpoint.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let metrics: HubMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        metrics.request(
            endpoint: context.endpointPath ?? "unmatched", method: request.method.rawValue, status: response.status.code,
            duration: ContinuousClock.now - start)
        return response
    }
}
