import HallpassCrypto
import HallpassStore
import HTTPTypes
import Synchronization

/// Authenticates the client of a token-endpoint request (RFC 6749 section 2.3): HTTP Basic
/// (`client_secret_basic`), `client_secret_post`, or a public client naming itself with
/// `client_id`. Using two methods at once is an error (section 2.3).
struct ClientAuthenticator: Sendable {
    let cache: ClientCache

    func authenticate(headers: HTTPFields, form: FormBody, requireConfidential: Bool = false) async throws -> ClientRecord {
        let basic = try Self.basicCredentials(headers)
        let postedSecret = form["client_secret"]
        let clientID: String
        let secret: String?
        if let basic {
            guard postedSecret == nil else { throw OAuthError.invalidRequest("use one client authentication method, not two") }
            if let posted = form["client_id"], posted != basic.id {
                throw OAuthError.invalidRequest("client_id does not match the authenticated client")
            }
            clientID = basic.id
            secret = basic.secret
        } else if let posted = form["client_id"] {
            clientID = posted
            secret = postedSecret
        } else {
            throw OAuthError.invalidClient(basic: false)
        }
        guard let client = try await cache.client(id: clientID) else { throw OAuthError.invalidClient(basic: basic != nil) }
        if client.isConfidential {
            guard let secret, client.verifySecret(secret) else { throw OAuthError.invalidClient(basic: basic != nil) }
        } else {
            // A public client has no secret to present; one that presents one is confused.
            guard secret == nil || secret == "" else { throw OAuthError.invalidClient(basic: basic != nil) }
            if requireConfidential { throw OAuthError.invalidClient(basic: basic != nil) }
        }
        return client
    }

    /// The id and secret of an `Authorization: Basic` header; `nil` when there is none.
    /// RFC 6749 section 2.3.1: both are form-urlencoded before base64.
    static func basicCredentials(_ headers: HTTPFields) throws(OAuthError) -> (id: String, secret: String)? {
        guard var value = headers[.authorization] else { return nil }
        // Every token request with a confidential client passes here: the header is read as
        // bytes, since walking it by `Character` costs microseconds of grapheme breaking.
        return try value.withUTF8 { utf8 in Result { () throws(OAuthError) in try basicCredentials(utf8) } }.get()
    }

    private static func basicCredentials(_ value: UnsafeBufferPointer<UInt8>) throws(OAuthError) -> (id: String, secret: String)? {
        // The scheme is case-insensitive (RFC 9110 section 11.1). A bare `Basic` with no
        // credentials is still an attempt at Basic, which RFC 6749 section 5.2 answers with
        // 401 and a Basic challenge, like any other malformed one.
        let schemeEnd = value.firstIndex(of: UInt8(ascii: " ")) ?? value.count
        guard schemeEnd == 5, UnsafeBufferPointer(rebasing: value[..<5]).equalsIgnoringASCIICase("basic") else { return nil }
        let encoded = UnsafeBufferPointer(rebasing: value[schemeEnd...]).trimmingSpaces
        guard !encoded.isEmpty, let decoded = PaddedBase64.decode(encoded),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":")),
            let id = Self.formDecoded(decoded[..<colon]),
            let secret = Self.formDecoded(decoded[(colon + 1)...])
        else { throw OAuthError.invalidClient(basic: true) }
        return (id, secret)
    }

    /// One form-urlencoded, UTF-8 half of a Basic credential.
    private static func formDecoded(_ bytes: ArraySlice<UInt8>) -> String? {
        bytes.withUnsafeBufferPointer { buffer in
            PercentEncoding.decode(buffer, plusIsSpace: true).flatMap { String(validating: $0, as: UTF8.self) }
        }
    }
}

/// Client registrations, cached briefly: every token request needs one, and they change
/// rarely. The ``GlobalChangeFeed`` empties the cache on every client event, so a removed or
/// added client is seen by the next request; the lifetime (at most a second) only bounds how
/// long a hub that misses the event (cut off from Redis) keeps a copy, which the removed
/// client's watermark covers (see `HallpassStore.clientWatermark(removedAt:)`).
final class ClientCache: Sendable {
    private let store: HallpassStore
    private let lifetime: Int64
    /// The cached records, and a generation that ``removeAll()`` advances: a read that began
    /// before the cache was emptied may have fetched the record as it was before the change,
    /// so it must not be cached.
    private let entries = Mutex<(generation: Int, records: [String: (client: ClientRecord?, expires: Int64)])>((0, [:]))

    init(store: HallpassStore, lifetime: Int64) {
        self.store = store
        self.lifetime = lifetime
    }

    func client(id: String) async throws(StoreError) -> ClientRecord? {
        guard HallpassStore.isValidClientID(id) else { return nil }
        let now = store.clock()
        let (hit, generation) = entries.withLock { ($0.records[id], $0.generation) }
        if let hit, hit.expires > now { return hit.client }
        let client = try await store.client(id: id)
        entries.withLock { entries in
            guard entries.generation == generation else { return }
            if entries.records.count > 10_000 { entries.records.removeAll() }
            entries.records[id] = (client, now + lifetime)
        }
        return client
    }

    /// Forgets every cached registration, and any read under way.
    func removeAll() {
        entries.withLock { entries in
            entries.generation &+= 1
            entries.records.removeAll()
        }
    }
}

/// Standard base64 with padding, as HTTP Basic uses it.
enum PaddedBase64 {
    /// The decoded bytes, or `nil` unless `text` is canonical padded base64.
    static func decode(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var end = text.count
        while end > 0, text.count - end < 2, text[end - 1] == UInt8(ascii: "=") { end -= 1 }
        return try? UnpaddedBase64.standard.decode(UnsafeBufferPointer(rebasing: text[..<end]))
    }
}
