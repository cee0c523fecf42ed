@testable import HallpassJOSE
import FuzzSupport

/// The access-token claims decoder (`AccessTokenClaims.decode`, which builds no dictionary) on
/// arbitrary payload JSON, against the full parser: the decoder must accept exactly the JSON
/// objects the parser accepts, refuse the rest with the same error, and keep each registered
/// claim as the parser reads it. (`@testable`: the decoder is internal; debug builds allow it.)
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAccessClaims(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        let lean = Result { () throws(JWTError) in try AccessTokenClaims.decode(input) }
        let full = Result { () throws(JSONError) in try JSONParser.parse(buffer: input) }
        let shown = String(decoding: input.prefix(400), as: UTF8.self)
        switch (full, lean) {
        case (.success(.object(let members)), .success(let claims)):
            for name in AccessTokenClaims.Name.allCases {
                require(members[name.claimName] == claims.value(of: name),
                        "decoder and parser disagree on \(name.claimName) for \(shown)")
            }
        case (.success(.object), .failure(let error)):
            fuzzFailure("parser accepts an object the decoder refuses (\(error)): \(shown)")
        case (.success, .failure(let error)):
            require(error == .malformed(.notAnObject(.payload)), "non-object refused with \(error): \(shown)")
        case (.success, .success):
            fuzzFailure("decoder accepts a value that is not an object: \(shown)")
        case (.failure(let parserError), .failure(let error)):
            require(error == .malformed(.json(.payload, parserError)),
                    "decoder refuses with \(error), parser with \(parserError): \(shown)")
        case (.failure(let error), .success):
            fuzzFailure("decoder accepts what the parser refuses (\(error)): \(shown)")
        }
    }
    return 0
}
