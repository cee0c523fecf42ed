import FuzzSupport
import HallpassPasswords

/// The PHC string parser (`Argon2idHash(phc:)`, run on every stored hash before a password is
/// checked) on any bytes. Every field is read strictly (canonical decimal and base64), so a
/// string it accepts is the one its `phcString` writes, and that parses to the same hash.
/// No password is hashed: that is Argon2's cost, not parsing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPHC(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    withInput(data, size) { input in
        let text = String(decoding: input, as: UTF8.self)
        guard let hash = try? Argon2idHash(phc: text) else { return }
        require(hash.phcString == text, "accepted a non-canonical PHC string: \(text) (writes \(hash.phcString))")
        require((try? Argon2idHash(phc: hash.phcString)) == hash, "phcString does not parse back: \(hash.phcString)")
        require(hash.parameters.memoryKiB >= 8 * hash.parameters.parallelism, "m below 8p accepted: \(text)")
    }
    return 0
}
