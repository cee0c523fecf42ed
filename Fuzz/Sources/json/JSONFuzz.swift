import FuzzSupport
import HallpassJOSE

/// JSONParser on any bytes: it must not crash, and whatever it accepts must serialize to JSON
/// that parses back to the same value and serializes to the same bytes again.
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
        require(again == value, "round trip changed the value: \(value) -> \(again)")
        require(again.serialized == written, "serialization is not stable: \(value.serializedString)")
    }
    return 0
}
