public import Hallpass
public import Hummingbird
import HTTPTypes

/// A request context that can carry the caller's ``Hallpass/Identity``. Conform your app's
/// context to it, or use ``HallpassRequestContext``.
public protocol HallpassAuthenticatedContext: RequestContext {
    /// The identity the ``HallpassMiddleware`` found in the request; `nil` before it ran.
    var identity: Identity? { get set }
}

extension HallpassAuthenticatedContext {
    /// The identity, or a 401 for a route reached without the middleware.
    public func requireIdentity() throws -> Identity {
        guard let identity else { throw HTTPError(.unauthorized) }
        return identity
    }
}

/// A ready-made request context with an ``identity`` slot.
public struct HallpassRequestContext: HallpassAuthenticatedContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The identity the middleware found.
    public var identity: Identity?

    /// A context for one request.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.identity = nil
    }
}

/// Authenticates every request with a Hallpass access token in `Authorization: Bearer …`
/// (RFC 6750), puts the ``Hallpass/Identity`` in the request context, and answers 401 with
/// `WWW-Authenticate: Bearer error="invalid_token", error_description="…"` when the token is
/// missing or refused (`Bearer realm="…"` alone when there is no token at all).
///
/// ```swift
/// let router = Router(context: HallpassRequestContext.self)
/// router.add(middleware: HallpassMiddleware(validator: validator))
/// router.get("/notes") { _, context in "hello \(try context.requireIdentity().subject)" }
/// ```
///
/// Validation is synchronous and local (see ``Hallpass/HallpassValidator/validate(_:)-(String)``);
/// the middleware adds a header parse.
public struct HallpassMiddleware<Context: HallpassAuthenticatedContext>: RouterMiddleware {
    /// The validator shared by all requests.
    public let validator: HallpassValidator
    /// The `realm` in `WWW-Authenticate`, if any.
    public let realm: String?

    /// A middleware using `validator`.
    public init(validator: HallpassValidator, realm: String? = nil) {
        self.validator = validator
        self.realm = realm
    }

    /// Validates the request's bearer token and calls `next` with the identity in the context,
    /// or answers 401.
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            return unauthorized(nil)
        }
        guard let token = Self.bearerToken(header) else {
            return unauthorized(.malformed("the Authorization header is not a Bearer token"))
        }
        let identity: Identity
        do {
            identity = try validator.validate(token)
        } catch {
            context.logger.debug("bearer token refused", metadata: ["reason": "\(error)"])
            return unauthorized(error)
        }
        var context = context
        context.identity = identity
        return try await next(request, context)
    }

    /// The token of `Bearer <token>`, the scheme matched without regard to case; `nil` for
    /// another scheme or an empty token.
    static func bearerToken(_ header: String) -> Substring? {
        let utf8 = header.utf8
        guard utf8.count > 7 else { return nil }
        let scheme = utf8.prefix(6)
        let expected = "bearer".utf8
        guard zip(scheme, expected).allSatisfy({ $0 | 0x20 == $1 }), utf8.dropFirst(6).first == UInt8(ascii: " ") else {
            return nil
        }
        let token = Substring(header).dropFirst(7).drop { $0 == " " }
        let trimmed = token.reversed().drop { $0 == " " }.count
        let result = token.prefix(trimmed)
        return result.isEmpty ? nil : result
    }

    private func unauthorized(_ error: ValidationError?) -> Response {
        var parts: [String] = []
        if let realm { parts.append("realm=\"\(Self.quoted(realm))\"") }
        if let error {
            parts.append("error=\"invalid_token\"")
            parts.append("error_description=\"\(Self.quoted(error.description))\"")
        }
        let challenge = parts.isEmpty ? "Bearer" : "Bearer " + parts.joined(separator: ", ")
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = challenge
        headers[.cacheControl] = "no-store"
        return Response(status: .unauthorized, headers: headers)
    }

    /// Text safe inside a quoted-string: printable ASCII without `"` and `\`.
    private static func quoted(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" }))
    }
}
