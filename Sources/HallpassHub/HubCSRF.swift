import HallpassCrypto
import HTTPTypes
import Hummingbird

/// CSRF protection for the hub's forms by double submit: a random token in the `HttpOnly`,
/// `SameSite=Lax` CSRF cookie, the same token in a hidden field; a `POST` must carry both,
/// equal. Another site can make a browser post a form but can neither read nor set the cookie.
extension HubCookies {
    /// The token for a form: the browser's current one when well-formed (several open forms
    /// stay valid), else a fresh one with the header that sets it. `fresh` forces a new one,
    /// as after a sign-in.
    func csrfToken(in request: Request, fresh: Bool = false) -> (token: String, setCookie: HTTPField?) {
        if !fresh, let current = HubCookies.value(csrf, in: request), Base32.decode(current)?.count == 32 {
            return (current, nil)
        }
        // A token of 256 bits; should the CSPRNG fail, the form carries an empty token and its
        // POST is refused, which is the safe way to fail.
        guard let bytes = try? SecureRandom.bytes(count: 32) else { return ("", nil) }
        let token = Base32.encode(bytes)
        return (token, set(csrf, token, maxAge: 3600))
    }

    /// Whether `posted` equals the request's CSRF cookie (compared in constant time).
    func isValidCSRF(_ posted: String?, in request: Request) -> Bool {
        guard let posted, let expected = HubCookies.value(csrf, in: request), !expected.isEmpty,
            posted.utf8.count == expected.utf8.count
        else { return false }
        return ConstantTime.equals(Array(posted.utf8), Array(expected.utf8))
    }
}
