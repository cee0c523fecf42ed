public import HallpassCrypto
public import HallpassJOSE
import CFuzzer
#if canImport(Glibc)
import Glibc
#endif

/// Stops the fuzzer with a message: libFuzzer saves the input that got here as a crash.
public func fuzzFailure(_ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message(), file: file, line: line)
}

/// Checks an invariant of a fuzz target; unlike `assert`, also in optimized builds.
public func require(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fuzzFailure(message(), file: file, line: line) }
}

/// The input as a buffer, for any size (libFuzzer may pass a null pointer with size 0).
public func withInput<R>(_ data: UnsafePointer<UInt8>?, _ size: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    guard let data, size > 0 else { return [UInt8]().withUnsafeBufferPointer(body) }
    return body(UnsafeBufferPointer(start: data, count: size))
}

/// One ES256 key pair for the whole run, so the targets that need a signature can make valid
/// ones and the fuzzer gets past the signature check into the claims.
public enum FuzzKeys {
    public static let issuer = "https://hub.example"
    public static let audience = "notes"
    /// A fixed time, so a run is reproducible: the seeds' `exp` and `iat` are around it.
    public static let now: Double = 1_700_000_000
    public static let keyID = "fuzz-es256"

    public static let signer: JWTSigner = {
        do {
            return try JWTSigner(privateKey: try PrivateKey.generate(.p256), keyID: keyID)
        } catch {
            fuzzFailure("cannot make the fuzz key: \(error)")
        }
    }()

    public static let keys = VerificationKeys([VerificationKeys.Key(keyID: keyID, publicKey: signer.privateKey.publicKey)])

    /// `header` (raw JSON bytes) and `payload` (raw bytes) signed by ``signer`` as a compact JWS,
    /// so a header the fuzzer wrote still carries a valid signature.
    public static func sign(header: [UInt8], payload: [UInt8]) -> [UInt8] {
        let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        do {
            let signature = try signer.privateKey.signature(for: input.utf8)
            return Array((input + "." + Base64URL.encode(signature)).utf8)
        } catch {
            fuzzFailure("signing failed: \(error)")
        }
    }

    /// `payload` under the header this library's signer writes for `type`.
    public static func sign(payload: [UInt8], type: String?) -> [UInt8] {
        do { return Array(try signer.sign(payload: payload, type: type).utf8) } catch { fuzzFailure("signing failed: \(error)") }
    }
}

/// Runs libFuzzer on `test` with this process's command line (`-max_total_time=`, corpus
/// directories, a crash file to replay...) and exits with its status.
public func runFuzzer(_ test: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = LLVMFuzzerRunDriver(&argc, &argv, test)
    exit(status)
}
