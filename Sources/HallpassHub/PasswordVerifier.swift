import HallpassCrypto
import HallpassPasswords
import NIOPosix

/// Runs Argon2id on its own threads: a hash takes tens of milliseconds of CPU, which must
/// never stall an event loop or the cooperative thread pool.
final class PasswordVerifier: Sendable {
    private let pool: NIOThreadPool
    private let hasher: PasswordHasher
    /// The hash an unknown user's password is checked against, so that an unknown username
    /// costs the same Argon2id time as a known one.
    private let decoy: String

    init(parameters: Argon2Parameters, threads: Int) throws {
        self.hasher = PasswordHasher(parameters: parameters)
        self.decoy = try hasher.hash(Base32.encode(try SecureRandom.bytes(count: 16)))
        self.pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    /// Whether `password` matches `phc`; with no `phc`, spends the same time and says no.
    func verify(_ password: String, against phc: String?) async -> Bool {
        let hasher = self.hasher
        let target = phc ?? decoy
        let matches = (try? await pool.runIfActive { (try? hasher.verify(password, against: target)) ?? false }) ?? false
        return phc != nil && matches
    }

    /// A new PHC string for `password`.
    func hash(_ password: String) async throws -> String {
        let hasher = self.hasher
        return try await pool.runIfActive { try hasher.hash(password) }
    }

    func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}
