/// Why bytes are not acceptable JSON.
public enum JSONError: Error, Equatable, Sendable {
    /// The input ended inside a value.
    case unexpectedEnd
    /// A byte that cannot start or continue a value here.
    case unexpectedByte(offset: Int)
    /// A number that does not follow the RFC 8259 grammar.
    case invalidNumber(offset: Int)
    /// A bad escape, a control character in a string, or a lone UTF-16 surrogate.
    case invalidString(offset: Int)
    /// Bytes that are not UTF-8.
    case invalidUTF8
    /// An object names the same member twice; RFC 7515 section 5.2 requires refusing it.
    case duplicateMember(String)
    /// Nesting deeper than the parser's limit.
    case tooDeep
    /// Bytes after the value.
    case trailingData(offset: Int)
}

/// A strict RFC 8259 parser: one value, no comments, no trailing commas, no leading zeros,
/// valid UTF-8, bounded depth, and duplicate object member names refused.
public enum JSONParser {
    /// Parses one JSON value from UTF-8 bytes.
    public static func parse(_ bytes: some Sequence<UInt8>, maxDepth: Int = 32) throws(JSONError) -> JSONValue {
        let contiguous = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONError) in try parse(buffer: buffer, maxDepth: maxDepth) }
        }
        if let contiguous { return try contiguous.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer in
            Result { () throws(JSONError) in try parse(buffer: buffer, maxDepth: maxDepth) }
        }.get()
    }

    /// Parses one JSON value from a buffer of UTF-8 bytes.
    public static func parse(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int = 32) throws(JSONError) -> JSONValue {
        var reader = Reader(bytes: buffer, maxDepth: maxDepth)
        reader.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.skipWhitespace()
        guard reader.index == buffer.count else { throw .trailingData(offset: reader.index) }
        return value
    }
}

extension JSONParser {
    /// Parses one JSON object, keeping only the members that `slot` names: the value of a
    /// member whose name `slot` maps to an index is parsed into `values[index]`; every other
    /// value is checked and skipped without being built.
    ///
    /// Accepts and refuses exactly what ``parse(buffer:maxDepth:)`` does (duplicate names
    /// included, in the same order of errors), so a reader of a few known members, such as a
    /// validator decoding claims, agrees with the full parser while building no dictionary.
    ///
    /// - Returns: false if the input is valid JSON but not an object.
    static func parseObject(
        buffer: UnsafeBufferPointer<UInt8>,
        maxDepth: Int = 32,
        into values: inout [JSONValue?],
        slot: (UnsafeBufferPointer<UInt8>) -> Int?
    ) throws(JSONError) -> Bool {
        var reader = Reader(bytes: buffer, maxDepth: maxDepth)
        reader.skipWhitespace()
        guard try reader.peek() == UInt8(ascii: "{") else {
            _ = try reader.value(depth: 0)
            reader.skipWhitespace()
            guard reader.index == buffer.count else { throw .trailingData(offset: reader.index) }
            return false
        }
        try reader.members(into: &values, slot: slot)
        reader.skipWhitespace()
        guard reader.index == buffer.count else { throw .trailingData(offset: reader.index) }
        return true
    }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0a, 0x0d: index += 1
            default: return
            }
        }
    }

    func peek() throws(JSONError) -> UInt8 {
        guard index < bytes.count else { throw .unexpectedEnd }
        return bytes[index]
    }

    mutating func value(depth: Int) throws(JSONError) -> JSONValue {
        switch try peek() {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw .unexpectedByte(offset: index)
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONError) {
        let length = word.utf8CodeUnitCount
        guard index + length <= bytes.count else { throw .unexpectedEnd }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: length)
        for offset in 0..<length where bytes[index + offset] != expected[offset] {
            throw .unexpectedByte(offset: index + offset)
        }
        index += length
    }

    mutating func object(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= maxDepth else { throw .tooDeep }
        index += 1  // {
        // JOSE headers and claim sets have about ten members; growing from empty would rehash
        // three times on the way.
        var members: [String: JSONValue] = Dictionary(minimumCapacity: 12)
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else { throw .unexpectedByte(offset: index) }
            let name = try string()
            skipWhitespace()
            guard try peek() == UInt8(ascii: ":") else { throw .unexpectedByte(offset: index) }
            index += 1
            skipWhitespace()
            let member = try value(depth: depth)
            guard members.updateValue(member, forKey: name) == nil else { throw .duplicateMember(name) }
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(members)
            default: throw .unexpectedByte(offset: index)
            }
        }
    }

    /// The top-level object for ``JSONParser/parseObject(buffer:maxDepth:into:slot:)``.
    mutating func members(into values: inout [JSONValue?], slot: (UnsafeBufferPointer<UInt8>) -> Int?) throws(JSONError) {
        index += 1  // {
        // Names of members nobody asked for, kept only to refuse duplicates; tokens have few.
        var others: [String] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else { throw .unexpectedByte(offset: index) }
            let name = try nameBytes()
            skipWhitespace()
            guard try peek() == UInt8(ascii: ":") else { throw .unexpectedByte(offset: index) }
            index += 1
            skipWhitespace()
            let wanted = name.withBytes(slot)
            if let wanted {
                let member = try value(depth: 1)
                // Checked after the value, as the full parser does, so both report the same error.
                guard values[wanted] == nil else { throw .duplicateMember(name.string) }
                values[wanted] = member
            } else {
                try skipValue()
                let text = name.string
                guard !others.contains(where: { $0.utf8.elementsEqual(text.utf8) }) else { throw .duplicateMember(text) }
                others.append(text)
            }
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return
            default: throw .unexpectedByte(offset: index)
            }
        }
    }

    /// A member name: the bytes between the quotes when they need no decoding, else the decoded string.
    enum Name {
        case raw(UnsafeBufferPointer<UInt8>)
        case decoded(String)

        func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
            switch self {
            case .raw(let bytes): return body(bytes)
            case .decoded(var text): return text.withUTF8(body)
            }
        }

        var string: String {
            switch self {
            case .raw(let bytes): return String(decoding: bytes, as: UTF8.self)
            case .decoded(let text): return text
            }
        }
    }

    mutating func nameBytes() throws(JSONError) -> Name {
        let start = index
        index += 1  // opening quote
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return .raw(UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(index - 1)]))
            }
            // Escapes, control characters and non-ASCII take the full path (and its errors).
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            index += 1
        }
        index = start
        return .decoded(try string())
    }

    /// Checks one value and moves past it. Scalars are checked without building anything;
    /// strings with escapes or non-ASCII, and nested arrays and objects (rare in tokens), go
    /// through the full parser, which applies every rule, duplicate names included.
    mutating func skipValue() throws(JSONError) {
        switch try peek() {
        case UInt8(ascii: "\""):
            let start = index
            index += 1
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
                index += 1
            }
            index = start
            _ = try string()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try number()
        default:
            _ = try value(depth: 1)
        }
    }

    mutating func array(depth: Int) throws(JSONError) -> JSONValue {
        guard depth <= maxDepth else { throw .tooDeep }
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth))
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw .unexpectedByte(offset: index)
            }
        }
    }

    mutating func string() throws(JSONError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes, so the bytes between the quotes are the string.
        var highBits: UInt8 = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return try Self.validatedString(raw, isASCII: highBits & 0x80 == 0)
            }
            highBits |= byte
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw .invalidString(offset: index) }
            index += 1
        }
        var decoded = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while true {
            guard index < bytes.count else { throw .unexpectedEnd }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return try decoded.withUnsafeBufferPointer { buffer in
                    Result { () throws(JSONError) in try Self.validatedString(buffer, isASCII: false) }
                }.get()
            case UInt8(ascii: "\\"):
                index += 1
                try escape(into: &decoded)
            case 0x00..<0x20:
                throw .invalidString(offset: index)
            default:
                decoded.append(byte)
                index += 1
            }
        }
    }

    /// A string from UTF-8 that must be valid.
    ///
    /// JOSE strings are almost always ASCII, which `String(decoding:)` takes without further
    /// checks; only other text goes through the (unspecialized, slower) validating initializer.
    static func validatedString(_ raw: UnsafeBufferPointer<UInt8>, isASCII: Bool) throws(JSONError) -> String {
        if isASCII { return String(decoding: raw, as: UTF8.self) }
        guard let text = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }

    mutating func escape(into decoded: inout [UInt8]) throws(JSONError) {
        let byte = try peek()
        index += 1
        switch byte {
        case UInt8(ascii: "\""): decoded.append(0x22)
        case UInt8(ascii: "\\"): decoded.append(0x5c)
        case UInt8(ascii: "/"): decoded.append(0x2f)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0c)
        case UInt8(ascii: "n"): decoded.append(0x0a)
        case UInt8(ascii: "r"): decoded.append(0x0d)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try hex4())
            if (0xd800..<0xdc00).contains(scalar) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw .invalidString(offset: index)
                }
                index += 2
                let low = UInt32(try hex4())
                guard (0xdc00..<0xe000).contains(low) else { throw .invalidString(offset: index) }
                scalar = 0x10000 + ((scalar - 0xd800) << 10) + (low - 0xdc00)
            } else if (0xdc00..<0xe000).contains(scalar) {
                throw .invalidString(offset: index)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw .invalidString(offset: index) }
            UTF8.encode(unicode) { decoded.append($0) }
        default:
            throw .invalidString(offset: index - 1)
        }
    }

    mutating func hex4() throws(JSONError) -> UInt16 {
        guard index + 4 <= bytes.count else { throw .unexpectedEnd }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .invalidString(offset: index)
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    mutating func number() throws(JSONError) -> JSONValue {
        let start = index
        var integral = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw .unexpectedEnd }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            // RFC 8259 has no leading zeros: "01" is a malformed number, not 0 followed by junk.
            if index < bytes.count, isDigit(bytes[index]) { throw .invalidNumber(offset: start) }
        } else if isDigit(bytes[index]) {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        } else {
            throw .invalidNumber(offset: start)
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw .invalidNumber(offset: start) }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw .invalidNumber(offset: start) }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let digits = UnsafeBufferPointer(rebasing: bytes[start..<index])
        if integral, let exact = Self.integer(digits) { return .integer(exact) }
        let text = String(decoding: digits, as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw .invalidNumber(offset: start) }
        return .number(value)
    }

    /// The value of an already-validated integer literal, or nil if it does not fit in 64 bits.
    static func integer(_ literal: UnsafeBufferPointer<UInt8>) -> Int64? {
        let negative = literal.first == UInt8(ascii: "-")
        var value: Int64 = 0
        for byte in literal.dropFirst(negative ? 1 : 0) {
            // Accumulate negatively so Int64.min, whose magnitude has no positive form, fits.
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = next
        }
        if negative { return value }
        let (positive, overflow) = (0 as Int64).subtractingReportingOverflow(value)
        return overflow ? nil : positive
    }

    func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
