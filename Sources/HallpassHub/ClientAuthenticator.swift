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
        let parsed = value.withUTF8 { utf8 in Result { () throws(BasicCredentials.Malformed) in try BasicCredentials.parse(utf8) } }
        guard case .success(let credentials) = parsed else { throw OAuthError.invalidClient(basic: true) }
        return credentials.map { ($0.id, $0.secret) }
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
