import Foundation
import HallpassCrypto
import HallpassPasswords
import HallpassTestSupport
import Testing

@Suite("Argon2id password hashing")
struct PasswordHasherTests {
    // Cheap parameters keep most tests fast; the OWASP defaults are exercised once below.
    let fast = PasswordHasher(parameters: Argon2Parameters(memoryKiB: 1024, iterations: 1, parallelism: 1))

    @Test("the default parameters are OWASP's m=19 MiB, t=2, p=1 and appear in the PHC string")
    func owaspDefaults() throws {
        let hasher = PasswordHasher()
        #expect(hasher.parameters.memoryKiB == 19456)
        #expect(hasher.parameters.iterations == 2)
        #expect(hasher.parameters.parallelism == 1)
        let phc = try hasher.hash("correct horse battery staple")
        #expect(phc.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
        #expect(try hasher.verify("correct horse battery staple", against: phc))
        #expect(try !hasher.verify("correct horse battery stapler", against: phc))
    }

    @Test("hash then verify round-trips, including empty and non-ASCII passwords", arguments: ["", "pässwörd 🔑", "a"])
    func roundTrip(password: String) throws {
        let phc = try fast.hash(password)
        #expect(try fast.verify(password, against: phc))
        #expect(try !fast.verify(password + "!", against: phc))
    }

    @Test("the same password hashes differently each time (fresh salt)")
    func freshSalt() throws {
        let first = try fast.hash("same")
        let second = try fast.hash("same")
        #expect(first != second)
        #expect(try Argon2idHash(phc: first).salt != Argon2idHash(phc: second).salt)
    }

    @Test("parameters, salt and hash are readable from a stored string")
    func parametersReadable() throws {
        let phc = try fast.hash("x")
        let parsed = try Argon2idHash(phc: phc)
        #expect(parsed.parameters.memoryKiB == 1024)
        #expect(parsed.parameters.iterations == 1)
        #expect(parsed.parameters.parallelism == 1)
        #expect(parsed.salt.count == 16)
        #expect(parsed.hash.count == 32)
        #expect(parsed.phcString == phc)
    }

    @Test("hashes made with weaker parameters are flagged for rehashing")
    func rehash() throws {
        let weak = try fast.hash("x")
        #expect(PasswordHasher().needsRehash(weak))
        #expect(!fast.needsRehash(weak))
        #expect(PasswordHasher().needsRehash("not a hash"))
    }

    @Test("tampered or malformed PHC strings are errors, not crashes or false positives")
    func tampered() throws {
        let phc = try fast.hash("secret")
        let parts = phc.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        func with(_ index: Int, _ value: String) -> String {
            var copy = parts
            copy[index] = value
            return copy.joined(separator: "$")
        }
        let cases: [(String, PasswordHashError)] = [
            ("", .malformedHash("expected 5 $-separated fields")),
            ("$argon2id$v=19$m=1024,t=1,p=1$abc", .malformedHash("expected 5 $-separated fields")),
            (with(1, "argon2i"), .unsupportedAlgorithm("argon2i")),
            (with(1, "bcrypt"), .unsupportedAlgorithm("bcrypt")),
            (with(2, "v=16"), .unsupportedVersion("v=16")),
            (with(3, "m=1024,t=1"), .malformedHash("parameters must be m, t and p")),
            (with(3, "t=1,m=1024,p=1"), .malformedHash("parameter m")),
            (with(3, "m=01024,t=1,p=1"), .malformedHash("parameter m")),
            (with(3, "m=-1,t=1,p=1"), .malformedHash("parameter m")),
            (with(3, "m=99999999999,t=1,p=1"), .malformedHash("parameter m")),
            (with(3, "m=4194305,t=1,p=1"), .parametersOutOfRange("m=4194305,t=1,p=1")),
            (with(3, "m=1024,t=1000,p=1"), .parametersOutOfRange("m=1024,t=1000,p=1")),
            (with(3, "m=1024,t=0,p=1"), .parametersOutOfRange("m=1024,t=0,p=1")),
            (with(4, parts[4] + "="), .malformedHash("salt or hash is not canonical base64")),
            (with(5, String(parts[5].dropLast()) + "*"), .malformedHash("salt or hash is not canonical base64")),
            (with(4, "AAAA"), .parametersOutOfRange("salt 3 bytes, hash 32 bytes")),
        ]
        for (input, expected) in cases {
            #expect(throws: expected, "input \(input)") { try fast.verify("secret", against: input) }
        }
    }

    @Test("a flipped bit in the stored hash makes the right password fail")
    func flippedHashBit() throws {
        let phc = try fast.hash("secret")
        var parsed = try Argon2idHash(phc: phc).hash
        parsed[0] ^= 0x01
        let parts = phc.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        let tampered = (parts[0..<5] + [UnpaddedBase64.standard.encode(parsed)]).joined(separator: "$")
        #expect(try !fast.verify("secret", against: tampered))
    }

    @Test("argon2-cffi, an independent implementation, verifies our hashes and we verify its hashes")
    func interopWithArgon2CFFI() async throws {
        let python = try InteropPython.executable()
        let script = InteropPython.script("argon2_interop.py")
        let hasher = PasswordHasher()
        let password = "interop pässword"
        let ours = try hasher.hash(password)
        let request = try JSONSerialization.data(withJSONObject: ["password": password, "hallpass_hash": ours])
        let output = try await runProcess(python, [script.path], input: String(decoding: request, as: UTF8.self))
        try #require(output.status == 0, "argon2_interop.py failed: \(output.standardError)")
        let reply = try #require(
            JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any]
        )
        #expect(reply["verifies"] as? Bool == true)
        #expect(reply["wrong_password_verifies"] as? Bool == false)
        let theirs = try #require(reply["cffi_hash"] as? String)
        #expect(try hasher.verify(password, against: theirs))
        #expect(try !hasher.verify(password + "x", against: theirs))
    }
}
