import HallpassCrypto

/// A strict `application/x-www-form-urlencoded` body (RFC 6749 section 3.2 and appendix B).
///
/// RFC 6749 section 3.1: "Request and response parameters MUST NOT be included more than
/// once", so a repeated name is an error rather than first-wins or last-wins, which would let
/// two parties read the same request differently. Values must be UTF-8 after decoding.
struct FormBody: Sendable {
    private(set) var values: [String: String] = [:]

    enum Failure: Error, Equatable {
        case repeated(String)
        case malformedEncoding
        case notUTF8
    }

    init(parsing bytes: some Collection<UInt8>) throws(Failure) {
        let parsed = bytes.withContiguousStorageIfAvailable { buffer in Result { () throws(Failure) in try Self(parsing: buffer) } }
            ?? Array(bytes).withUnsafeBufferPointer { buffer in Result { () throws(Failure) in try Self(parsing: buffer) } }
        self = try parsed.get()
    }

    /// Parses contiguous bytes: the form every request body takes, so the loop runs over
    /// plain memory rather than through a collection's witness table.
    init(parsing bytes: UnsafeBufferPointer<UInt8>) throws(Failure) {
        var start = 0
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.count
            if end > start {
                let pair = UnsafeBufferPointer(rebasing: bytes[start..<end])
                let equals = pair.firstIndex(of: UInt8(ascii: "="))
                let name = try Self.decode(UnsafeBufferPointer(rebasing: pair[..<(equals ?? pair.count)]))
                var value = ""
                if let equals { value = try Self.decode(UnsafeBufferPointer(rebasing: pair[(equals + 1)...])) }
                guard values[name] == nil else { throw .repeated(name) }
                values[name] = value
            }
            start = end + 1
        }
    }

    subscript(name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    private static func decode(_ encoded: UnsafeBufferPointer<UInt8>) throws(Failure) -> String {
        // Most names and values (tokens, grant types, ids) need no decoding at all.
        if !encoded.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) {
            guard let text = String(validating: encoded, as: UTF8.self) else { throw .notUTF8 }
            return text
        }
        guard let bytes = PercentEncoding.decode(encoded, plusIsSpace: true) else { throw .malformedEncoding }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return text
    }
}
