import CArgon2
public import HallpassCrypto

/// The cost parameters of an Argon2id hash.
public struct Argon2Parameters: Sendable, Hashable, CustomStringConvertible {
    /// Memory in KiB (`m`).
    public var memoryKiB: UInt32
    /// Passes over memory (`t`).
    public var iterations: UInt32
    /// Lanes (`p`).
    public var parallelism: UInt32
    /// Salt length in bytes for new hashes.
    public var saltLength: Int
    /// Output length in bytes for new hashes.
    public var hashLength: Int

    /// OWASP's Password Storage Cheat Sheet minimum for Argon2id: m = 19 MiB, t = 2, p = 1.
    public static let owasp = Argon2Parameters(memoryKiB: 19 * 1024, iterations: 2, parallelism: 1)

    /// Parameters for new hashes; salt 16 bytes and output 32 bytes unless given.
    public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32, saltLength: Int = 16, hashLength: Int = 32) {
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
        self.saltLength = saltLength
        self.hashLength = hashLength
    }

    public var description: String { "m=\(memoryKiB),t=\(iterations),p=\(parallelism)" }

    /// Whether a hash made with `other` costs at least as much as these parameters ask for.
    public func isSatisfied(by other: Argon2Parameters) -> Bool {
        other.memoryKiB >= memoryKiB && other.iterations >= iterations && other.parallelism >= parallelism
            && other.hashLength >= hashLength
    }
}

/// Why a password hash could not be made or checked.
public enum PasswordHashError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The stored string is not a PHC Argon2id string (the part that is wrong is named).
    case malformedHash(String)
    /// The PHC string names another algorithm.
    case unsupportedAlgorithm(String)
    /// The PHC string names an Argon2 version other than 0x13 (19).
    case unsupportedVersion(String)
    /// The parameters lie outside what this library will compute (a stored string could ask
    /// for gigabytes of memory or hours of time; that must be an error, not a denial of service).
    case parametersOutOfRange(String)
    /// libargon2 refused the computation.
    case argon2(code: Int32, message: String)
    /// The CSPRNG failed to produce a salt.
    case randomFailure(CryptoError)

    public var description: String {
        switch self {
        case .malformedHash(let part): "malformed password hash: \(part)"
        case .unsupportedAlgorithm(let name): "unsupported password hash algorithm \(name)"
        case .unsupportedVersion(let version): "unsupported Argon2 version \(version)"
        case .parametersOutOfRange(let detail): "password hash parameters out of range: \(detail)"
        case .argon2(let code, let message): "argon2 error \(code): \(message)"
        case .randomFailure(let error): "could not draw a salt: \(error)"
        }
    }
}

/// A parsed PHC string `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`.
public struct Argon2idHash: Sendable, Hashable {
    /// The cost parameters (salt and hash lengths are those of this hash).
    public let parameters: Argon2Parameters
    /// The salt.
    public let salt: [UInt8]
    /// The derived key.
    public let hash: [UInt8]

    /// Bounds on what a stored string may ask for: 4 GiB of memory, 64 passes, 64 lanes,
    /// 8..64-byte salts, 16..64-byte outputs.
    static let memoryRange: ClosedRange<UInt32> = 8...4 * 1024 * 1024
    static let iterationRange: ClosedRange<UInt32> = 1...64
    static let parallelismRange: ClosedRange<UInt32> = 1...64
    static let saltRange = 8...64
    static let hashRange = 16...64

    /// Parses and checks a PHC string; does not verify any password.
    public init(phc: String) throws(PasswordHashError) {
        let fields = phc.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0].isEmpty else { throw .malformedHash("expected 5 $-separated fields") }
        guard fields[1] == "argon2id" else { throw .unsupportedAlgorithm(String(fields[1].prefix(32))) }
        guard fields[2] == "v=19" else { throw .unsupportedVersion(String(fields[2].prefix(32))) }
        var memory: UInt32?, iterations: UInt32?, parallelism: UInt32?
        let pairs = fields[3].split(separator: ",", omittingEmptySubsequences: false)
        guard pairs.count == 3 else { throw .malformedHash("parameters must be m, t and p") }
        for (pair, expected) in zip(pairs, ["m", "t", "p"]) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            // PHC decimal: digits only, no sign, no leading zero.
            guard parts.count == 2, parts[0] == expected, let digits = parts.last, !digits.isEmpty,
                  digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.count == 1 || digits.first != "0",
                  let value = UInt32(digits)
            else { throw .malformedHash("parameter \(expected)") }
            switch expected {
            case "m": memory = value
            case "t": iterations = value
            default: parallelism = value
            }
        }
        guard let memory, let iterations, let parallelism else { throw .malformedHash("parameters") }
        let salt: [UInt8]
        let hash: [UInt8]
        do {
            salt = try UnpaddedBase64.standard.decode(fields[4])
            hash = try UnpaddedBase64.standard.decode(fields[5])
        } catch {
            throw .malformedHash("salt or hash is not canonical base64")
        }
        guard Self.memoryRange.contains(memory), Self.iterationRange.contains(iterations),
              Self.parallelismRange.contains(parallelism), memory >= 8 * parallelism
        else { throw .parametersOutOfRange("m=\(memory),t=\(iterations),p=\(parallelism)") }
        guard Self.saltRange.contains(salt.count), Self.hashRange.contains(hash.count) else {
            throw .parametersOutOfRange("salt \(salt.count) bytes, hash \(hash.count) bytes")
        }
        self.parameters = Argon2Parameters(
            memoryKiB: memory, iterations: iterations, parallelism: parallelism,
            saltLength: salt.count, hashLength: hash.count
        )
        self.salt = salt
        self.hash = hash
    }

    init(parameters: Argon2Parameters, salt: [UInt8], hash: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }

    /// The PHC string form.
    public var phcString: String {
        "$argon2id$v=19$m=\(parameters.memoryKiB),t=\(parameters.iterations),p=\(parameters.parallelism)$"
            + UnpaddedBase64.standard.encode(salt) + "$" + UnpaddedBase64.standard.encode(hash)
    }
}

/// Argon2id password hashing through libargon2, stored as PHC strings.
///
/// Hashing and verifying cost tens of milliseconds of CPU and 19 MiB by design. They are
/// synchronous: a server should run them on a thread pool meant for blocking work, not on an
/// event loop.
public struct PasswordHasher: Sendable {
    /// The parameters for new hashes.
    public let parameters: Argon2Parameters

    /// A hasher making new hashes with `parameters`.
    public init(parameters: Argon2Parameters = .owasp) {
        self.parameters = parameters
    }

    /// Hashes `password` under a fresh salt from OpenSSL's CSPRNG and returns the PHC string.
    public func hash(_ password: String) throws(PasswordHashError) -> String {
        let salt: [UInt8]
        do { salt = try SecureRandom.bytes(count: parameters.saltLength) } catch { throw .randomFailure(error) }
        let derived = try Self.derive(Array(password.utf8), salt: salt, parameters: parameters)
        return Argon2idHash(parameters: parameters, salt: salt, hash: derived).phcString
    }

    /// Whether `password` matches the PHC string `phc`, compared in constant time.
    ///
    /// - Throws: ``PasswordHashError`` when `phc` is not a well-formed, in-range Argon2id string.
    public func verify(_ password: String, against phc: String) throws(PasswordHashError) -> Bool {
        let stored = try Argon2idHash(phc: phc)
        let derived = try Self.derive(Array(password.utf8), salt: stored.salt, parameters: stored.parameters)
        return ConstantTime.equals(derived, stored.hash)
    }

    /// Whether a stored hash was made with weaker parameters than this hasher's, so the
    /// password should be hashed again at the next successful login.
    public func needsRehash(_ phc: String) -> Bool {
        guard let stored = try? Argon2idHash(phc: phc) else { return true }
        return !parameters.isSatisfied(by: stored.parameters)
    }

    static func derive(_ password: [UInt8], salt: [UInt8], parameters: Argon2Parameters) throws(PasswordHashError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: parameters.hashLength)
        let status = output.withUnsafeMutableBytes { out in
            password.withUnsafeBytes { pwd in
                salt.withUnsafeBytes { salt in
                    argon2id_hash_raw(
                        parameters.iterations, parameters.memoryKiB, parameters.parallelism,
                        pwd.baseAddress, pwd.count, salt.baseAddress, salt.count,
                        out.baseAddress, out.count
                    )
                }
            }
        }
        guard status == ARGON2_OK.rawValue else {
            let message = argon2_error_message(status).map { String(cString: $0) } ?? "unknown"
            throw .argon2(code: status, message: message)
        }
        return output
    }
}
