public import HallpassCrypto
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The key-encryption key file that `--kek-file` / `HALLPASS_KEK_FILE` names: 64 hex digits
/// (256 bits), as `openssl rand -hex 32` writes them. Hub and ops CLI read it the same way.
public enum KeyEncryptionKeyFile {
    /// Why the file cannot be used.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// The file cannot be opened or read.
        case unreadable(path: String, errno: Int32)
        /// The content is not 64 hex digits.
        case malformed(path: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let code): "cannot read key-encryption key file \(path): \(String(cString: strerror(code)))"
            case .malformed(let path): "key-encryption key file \(path) must hold 64 hex digits (openssl rand -hex 32)"
            }
        }
    }

    /// Reads the key. `exposed` is true when the file can be read by group or others, which
    /// the caller should warn about.
    public static func load(path: String) throws(Problem) -> (key: SymmetricKey, exposed: Bool) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .unreadable(path: path, errno: errno) }
        defer { close(descriptor) }
        var status = stat()
        let exposed = fstat(descriptor, &status) == 0 && (status.st_mode & 0o077) != 0
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count >= 0 else { throw .unreadable(path: path, errno: errno) }
        defer { for index in buffer.indices { buffer[index] = 0 } }
        guard count < buffer.count, let key = try? SymmetricKey(hex: String(decoding: buffer[..<count], as: UTF8.self)) else {
            throw .malformed(path: path)
        }
        return (key, exposed)
    }
}
