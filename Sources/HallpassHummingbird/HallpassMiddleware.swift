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
/// With a `requirement`, a valid token must also show a second factor and/or a recent enough
/// sign-in (RFC 9470); one that does not is answered 401 `insufficient_user_authentication`
/// (see ``HallpassRequirementMiddleware``, which does the same check after this middleware):
///
/// ```swift
/// router.group("api/invoices")
///     .add(middleware: HallpassMiddleware(validator: validator, requirement: .secondFactor(maxAge: .seconds(600))))
///     .get { _, context in try invoices(for: context.requireIdentity()) }
/// ```
///
/// Validation is synchronous and local (see ``Hallpass/HallpassValidator/validate(_:)-(String)``);
/// the middleware adds a header parse, and a clock read when it has a requirement.
public struct HallpassMiddleware<Context: HallpassAuthenticatedContext>: RouterMiddleware {
    /// The validator shared by all requests.
    public let validator: HallpassValidator
    /// The `realm` in `WWW-Authenticate`, if any.
    public let realm: String?
    /// What the user's authentication must meet besides a valid token, if anything.
    public let requirement: AuthenticationRequirement?

    /// A middleware using `validator`; with `requirement`, tokens whose sign-in does not meet it
    /// are answered 401 `insufficient_user_authentication` (RFC 9470).
    public init(validator: HallpassValidator, realm: String? = nil, requirement: AuthenticationRequirement? = nil) {
        self.validator = validator
        self.realm = realm
        self.requirement = requirement
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
        if let requirement, let unmet = requirement.unmet(by: identity) {
            context.logger.debug("bearer token lacks the required authentication", metadata: ["unmet": "\(unmet.description)"])
            return insufficientUserAuthentication(requirement, unmet, realm: realm)
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

    /// 401 with the challenge; a refused token also gets the error as a JSON body, as the
    /// step-up challenge does (a request without a token gets neither, RFC 6750 §3.1).
    private func unauthorized(_ error: ValidationError?) -> Response {
        var parts: [String] = []
        if let realm { parts.append("realm=\"\(quotedStringContent(realm))\"") }
        var body: String?
        if let error {
            let description = quotedStringContent(error.description)
            parts.append("error=\"invalid_token\"")
            parts.append("error_description=\"\(description)\"")
            body = #"{"error":"invalid_token","error_description":"\#(description)"}"#
        }
        let challenge = parts.isEmpty ? "Bearer" : "Bearer " + parts.joined(separator: ", ")
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = challenge
        headers[.cacheControl] = "no-store"
        guard let body else { return Response(status: .unauthorized, headers: headers) }
        headers[.contentType] = "application/json"
        return Response(status: .unauthorized, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}

/// Text safe inside a quoted-string (RFC 9110 §5.6.4) and, as it is, inside a JSON string:
/// printable ASCII without `"` and `\`.
func quotedStringContent(_ text: String) -> String {
    String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" }))
}

/// Demands of the identity ``HallpassMiddleware`` put in the context a second factor and/or a
/// recent enough sign-in (RFC 9470) for the routes after it; answers 401
/// `insufficient_user_authentication` otherwise, and 401 `Bearer` when no identity is there (a
/// route reached without ``HallpassMiddleware`` before it).
///
/// ```swift
/// let api = router.group("api").add(middleware: HallpassMiddleware(validator: validator))
/// api.get("me") { _, context in try context.requireIdentity().subject }
/// api.group("invoices")
///     .add(middleware: HallpassRequirementMiddleware(.secondFactor(maxAge: .seconds(600))))
///     .get { _, context in try invoices(for: context.requireIdentity()) }
/// ```
public struct HallpassRequirementMiddleware<Context: HallpassAuthenticatedContext>: RouterMiddleware {
    /// What the user's authentication must meet.
    public let requirement: AuthenticationRequirement
    /// The `realm` in `WWW-Authenticate`, if any (use the one ``HallpassMiddleware`` has).
    public let realm: String?

    /// A middleware demanding `requirement`.
    public init(_ requirement: AuthenticationRequirement, realm: String? = nil) {
        self.requirement = requirement
        self.realm = realm
    }

    /// Calls `next` when the context's identity meets the requirement, or answers 401.
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let identity = context.identity else {
            var headers = HTTPFields()
            headers[.wwwAuthenticate] = realm.map { "Bearer realm=\"\(quotedStringContent($0))\"" } ?? "Bearer"
            headers[.cacheControl] = "no-store"
            return Response(status: .unauthorized, headers: headers)
        }
        if let unmet = requirement.unmet(by: identity) {
            context.logger.debug("bearer token lacks the required authentication", metadata: ["unmet": "\(unmet.description)"])
            return insufficientUserAuthentication(requirement, unmet, realm: realm)
        }
        return try await next(request, context)
    }
}

/// The RFC 9470 §3 challenge: 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication",
/// error_description="…"`, then `acr_values` and `max_age` as the requirement has them (all of
/// it, not only the unmet part: the new token must meet every part), and the same in a JSON
/// body for clients that read bodies rather than headers.
func insufficientUserAuthentication(
    _ requirement: AuthenticationRequirement, _ unmet: AuthenticationRequirement.Unmet, realm: String?
) -> Response {
    var parts: [String] = []
    if let realm { parts.append("realm=\"\(quotedStringContent(realm))\"") }
    parts.append("error=\"insufficient_user_authentication\"")
    parts.append("error_description=\"\(quotedStringContent(unmet.description))\"")
    var body = #"{"error":"insufficient_user_authentication","error_description":"\#(quotedStringContent(unmet.description))""#
    if let acr = requirement.acr {
        parts.append("acr_values=\"\(quotedStringContent(acr))\"")
        body += #","acr_values":"\#(quotedStringContent(acr))""#
    }
    if let maxAge = requirement.maxAgeSeconds {
        parts.append("max_age=\"\(maxAge)\"")
        body += #","max_age":\#(maxAge)"#
    }
    body += "}"
    var headers = HTTPFields()
    headers[.wwwAuthenticate] = "Bearer " + parts.joined(separator: ", ")
    headers[.contentType] = "application/json"
    headers[.cacheControl] = "no-store"
    return Response(status: .unauthorized, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
}
