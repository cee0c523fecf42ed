import FuzzSupport
import HallpassJOSE

/// JSONParser on any bytes: it must not crash, and whatever it accepts must serialize to JSON
/// that parses back to the same JSON value and serializes to the same bytes again.
///
/// "The same JSON value", not `==`: JSONValue keeps integer literals (`.integer`) apart from
/// the others (`.number`), and the serializer writes an integral double such as `-6e1` as
/// `-60`, which parses back as `.integer(-60)`. RFC 8259 numbers have no such distinction and
/// every accessor (`numericValue`, `integerValue`) agrees on both, so the check compares numbers
/// by value and everything else exactly.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        let value: JSONValue
        do { value = try JSONParser.parse(buffer: input) } catch { return }
        let written = value.serialized
        let again: JSONValue
        do { again = try JSONParser.parse(written) } catch {
            fuzzFailure("serialized JSON does not parse (\(error)): \(value.serializedString)")
        }
        require(sameJSON(again, value), "round trip changed the value: \(value) -> \(again)")
        require(again.serialized == written, "serialization is not stable: \(value.serializedString)")
    }
    return 0
}

/// Equality of JSON values with numbers compared by value: `.number(x)` equals `.integer(i)`
/// exactly when `x` is the integer `i` (no rounding: 2^53 + 1 is not a double).
private func sameJSON(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.number(let x), .integer(let i)), (.integer(let i), .number(let x)):
        return Int64(exactly: x) == i
    case (.array(let left), .array(let right)):
        return left.count == right.count && zip(left, right).allSatisfy { sameJSON($0, $1) }
    case (.object(let left), .object(let right)):
        return left.count == right.count && left.allSatisfy { key, value in right[key].map { sameJSON(value, $0) } ?? false }
    default:
        return a == b
    }
}
