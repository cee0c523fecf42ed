/// Strict base64 without padding, in the two alphabets Hallpass meets: URL-safe (JOSE,
/// RFC 7515 section 2) and standard (PHC password hash strings).
///
/// Strict means: no padding, no whitespace, no characters outside the alphabet, and no
/// non-canonical encodings (unused trailing bits must be zero), so each byte string has exactly
/// one encoding and a tampered-but-equivalent string is refused.
public struct UnpaddedBase64: Sendable {
    /// Why text is not canonical unpadded base64.
    public enum DecodingError: Error, Equatable, Sendable {
        /// A byte outside the alphabet (this includes `=` padding and whitespace).
        case invalidCharacter(offset: Int)
        /// A length that no byte string encodes to (1 more than a multiple of 4).
        case invalidLength
        /// The last character carries bits that a canonical encoder would have left zero.
        case nonCanonical
    }

    /// `A-Z a-z 0-9 - _` (RFC 4648 section 5).
    public static let url = UnpaddedBase64(alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    /// `A-Z a-z 0-9 + /` (RFC 4648 section 4), as PHC strings use it.
    public static let standard = UnpaddedBase64(alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

    private let alphabet: [UInt8]
    private let decodeTable: [UInt8]

    private init(alphabet: String) {
        self.alphabet = Array(alphabet.utf8)
        var table = [UInt8](repeating: 0xff, count: 256)
        for (value, character) in self.alphabet.enumerated() { table[Int(character)] = UInt8(value) }
        self.decodeTable = table
    }

    /// The encoding of `bytes`, without padding.
    public func encode(_ bytes: some Sequence<UInt8>) -> String {
        let input = Array(bytes)
        var output = [UInt8]()
        output.reserveCapacity((input.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(alphabet[Int(chunk >> 18 & 0x3f)])
            output.append(alphabet[Int(chunk >> 12 & 0x3f)])
            output.append(alphabet[Int(chunk >> 6 & 0x3f)])
            output.append(alphabet[Int(chunk & 0x3f)])
            index += 3
        }
        switch input.count - index {
        case 1:
            let chunk = UInt32(input[index]) << 16
            output.append(alphabet[Int(chunk >> 18 & 0x3f)])
            output.append(alphabet[Int(chunk >> 12 & 0x3f)])
        case 2:
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output.append(alphabet[Int(chunk >> 18 & 0x3f)])
            output.append(alphabet[Int(chunk >> 12 & 0x3f)])
            output.append(alphabet[Int(chunk >> 6 & 0x3f)])
        default:
            break
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes canonical text.
    public func decode(_ text: some StringProtocol) throws(DecodingError) -> [UInt8] {
        let contiguous = text.utf8.withContiguousStorageIfAvailable { buffer in
            Result { () throws(DecodingError) in try decode(buffer) }
        }
        if let contiguous { return try contiguous.get() }
        // Bridged or otherwise non-contiguous strings: copy once.
        return try Array(text.utf8).withUnsafeBufferPointer { buffer in
            Result { () throws(DecodingError) in try decode(buffer) }
        }.get()
    }

    /// Decodes canonical text given as bytes.
    public func decode(_ input: UnsafeBufferPointer<UInt8>) throws(DecodingError) -> [UInt8] {
        let outputCount = try decodedCount(input.count)
        var failure: DecodingError?
        let output = [UInt8](unsafeUninitializedCapacity: outputCount) { output, initialized in
            do throws(DecodingError) {
                initialized = try decode(input, into: output)
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return output
    }

    /// The number of bytes `encodedCount` characters of canonical text decode to.
    ///
    /// - Throws: ``DecodingError/invalidLength`` for a length no byte string encodes to.
    public func decodedCount(_ encodedCount: Int) throws(DecodingError) -> Int {
        let remainder = encodedCount % 4
        guard remainder != 1 else { throw .invalidLength }
        return encodedCount / 4 * 3 + (remainder == 0 ? 0 : remainder - 1)
    }

    /// Decodes canonical text into `output`, which must hold at least
    /// ``decodedCount(_:)`` bytes, and returns that count.
    ///
    /// For callers that decode into storage they already have (a token's payload into a stack
    /// buffer) instead of a new array.
    public func decode(_ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>) throws(DecodingError) -> Int {
        let count = input.count
        let remainder = count % 4
        let outputCount = try decodedCount(count)
        precondition(output.count >= outputCount, "output buffer too small for the decoded bytes")
        // This runs for every segment of every token validated: straight from the table into
        // the output, four characters at a time.
        return try decodeTable.withUnsafeBufferPointer { table throws(DecodingError) -> Int in
            var index = 0
            var out = 0
            let whole = count - remainder
            while index < whole {
                let a = table[Int(input[index])], b = table[Int(input[index + 1])]
                let c = table[Int(input[index + 2])], d = table[Int(input[index + 3])]
                // Valid values are < 64, so one test of the high bit covers all four.
                if (a | b | c | d) & 0x80 != 0 {
                    throw .invalidCharacter(offset: firstInvalid(input, from: index))
                }
                let chunk = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                output[out] = UInt8(truncatingIfNeeded: chunk >> 16)
                output[out + 1] = UInt8(truncatingIfNeeded: chunk >> 8)
                output[out + 2] = UInt8(truncatingIfNeeded: chunk)
                out += 3
                index += 4
            }
            guard remainder >= 2 else { return out }
            let a = table[Int(input[index])], b = table[Int(input[index + 1])]
            let c = remainder == 3 ? table[Int(input[index + 2])] : 0
            if (a | b | c) & 0x80 != 0 {
                throw .invalidCharacter(offset: firstInvalid(input, from: index))
            }
            // Bits a canonical encoder leaves zero: the low 4 of the 2nd or the low 2 of the 3rd.
            guard remainder == 2 ? b & 0x0f == 0 : c & 0x03 == 0 else { throw .nonCanonical }
            output[out] = a << 2 | b >> 4
            out += 1
            if remainder == 3 {
                output[out] = b << 4 | c >> 2
                out += 1
            }
            return out
        }
    }

    private func firstInvalid(_ input: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index < input.count, decodeTable[Int(input[index])] != 0xff { index += 1 }
        return index
    }
}
