import Foundation
import HallpassCrypto
import HallpassTestSupport
import Testing

@Suite("Keys: generate, sign, verify, PEM")
struct KeyTests {
    let message = Array("the quick brown fox jumps over the lazy dog".utf8)

    @Test("a generated key signs and its public key verifies", arguments: KeyType.allCases)
    func signVerifyRoundTrip(type: KeyType) throws {
        let key = try PrivateKey.generate(type)
        #expect(key.type == type)
        #expect(key.publicKey.type == type)
        let signature = try key.signature(for: message)
        #expect(key.publicKey.isValidSignature(signature, for: message))

        var alteredMessage = message
        alteredMessage[0] ^= 0x01
        #expect(!key.publicKey.isValidSignature(signature, for: alteredMessage))

        var alteredSignature = signature
        alteredSignature[alteredSignature.count / 2] ^= 0x01
        #expect(!key.publicKey.isValidSignature(alteredSignature, for: message))

        #expect(!key.publicKey.isValidSignature([], for: message))
        #expect(!key.publicKey.isValidSignature(signature.dropLast(), for: message))
    }

    @Test("signature lengths are the fixed JOSE forms", arguments: KeyType.allCases)
    func signatureLengths(type: KeyType) throws {
        let key = try SharedKeys.key(type)
        let expected = switch type {
        case .p256: 64   // r‖s, not DER
        case .ed25519: 64
        case .rsa: 256   // modulus length of a 2048-bit key
        }
        // ECDSA r and s have a leading zero byte 1 time in 256; many signatures make sure the
        // padding to 32 bytes is exercised, not just the common case.
        let rounds = type == .p256 ? 300 : 5
        for round in 0..<rounds {
            let input = message + [UInt8(truncatingIfNeeded: round), UInt8(truncatingIfNeeded: round >> 8)]
            let signature = try key.signature(for: input)
            #expect(signature.count == expected)
            #expect(key.publicKey.isValidSignature(signature, for: input))
        }
    }

    @Test("degenerate signatures never verify")
    func degenerateSignatures() throws {
        // CVE-2022-21449 ("psychic signatures"): a verifier that skips the range check on r and
        // s accepts r = s = 0 for every message and key.
        let p256 = try SharedKeys.key(.p256).publicKey
        let order: [UInt8] = [
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
        ]
        let one = [UInt8](repeating: 0, count: 31) + [1]
        let zero = [UInt8](repeating: 0, count: 32)
        for signature in [zero + zero, zero + one, one + zero, order + order, one + order, [UInt8](repeating: 0xff, count: 64)] {
            #expect(!p256.isValidSignature(signature, for: message))
            #expect(!p256.isValidSignature(signature, for: []))
        }
        // A valid (r, s) in DER, the form OpenSSL uses natively, is not the JOSE form.
        let valid = try SharedKeys.key(.p256).signature(for: message)
        #expect(p256.isValidSignature(valid, for: message))
        #expect(!p256.isValidSignature([0x30, 0x44, 0x02, 0x20] + valid.prefix(32) + [0x02, 0x20] + valid.suffix(32), for: message))

        for type in [KeyType.ed25519, .rsa] {
            let key = try SharedKeys.key(type).publicKey
            let length = type == .rsa ? 256 : 64
            #expect(!key.isValidSignature([UInt8](repeating: 0, count: length), for: message))
            #expect(!key.isValidSignature([UInt8](repeating: 0xff, count: length), for: message))
        }
    }

    @Test("a signature does not verify under another key of the same type", arguments: KeyType.allCases)
    func wrongKeyFails(type: KeyType) throws {
        let signer = try SharedKeys.key(type)
        let other = try PrivateKey.generate(type)
        let signature = try signer.signature(for: message)
        #expect(!other.publicKey.isValidSignature(signature, for: message))
    }

    @Test("a signature of one type never verifies under a key of another type")
    func crossTypeFails() throws {
        for signerType in KeyType.allCases {
            let signature = try SharedKeys.key(signerType).signature(for: message)
            for verifierType in KeyType.allCases where verifierType != signerType {
                #expect(!(try SharedKeys.key(verifierType)).publicKey.isValidSignature(signature, for: message))
            }
        }
    }

    @Test("private key PEM export and import keep signatures valid", arguments: KeyType.allCases)
    func privatePEMRoundTrip(type: KeyType) throws {
        let original = try SharedKeys.key(type)
        let pem = original.pemRepresentation
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(pem.hasSuffix("-----END PRIVATE KEY-----\n"))
        let imported = try PrivateKey(pem: pem)
        #expect(imported.type == type)
        // The imported key is the same key: the original verifies what it signs, and vice versa.
        let byImported = try imported.signature(for: message)
        #expect(original.publicKey.isValidSignature(byImported, for: message))
        let byOriginal = try original.signature(for: message)
        #expect(imported.publicKey.isValidSignature(byOriginal, for: message))
        #expect(try imported.publicKey.components() == original.publicKey.components())
        #expect(imported.pemRepresentation == pem)
    }

    @Test("public key PEM export and import keep signatures valid", arguments: KeyType.allCases)
    func publicPEMRoundTrip(type: KeyType) throws {
        let original = try SharedKeys.key(type)
        let pem = original.publicKey.pemRepresentation
        #expect(pem.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        let imported = try PublicKey(pem: pem)
        #expect(imported.type == type)
        #expect(imported.isValidSignature(try original.signature(for: message), for: message))
        #expect(try imported.components() == original.publicKey.components())
        #expect(imported.pemRepresentation == pem)
    }

    @Test("public key components rebuild an equivalent key", arguments: KeyType.allCases)
    func componentsRoundTrip(type: KeyType) throws {
        let original = try SharedKeys.key(type)
        let components = try original.publicKey.components()
        switch components {
        case .p256(let x, let y): #expect(x.count == 32 && y.count == 32)
        case .ed25519(let x): #expect(x.count == 32)
        case .rsa(let modulus, let exponent):
            #expect(modulus.count == 256 && modulus[0] != 0)
            #expect(exponent == [0x01, 0x00, 0x01])
        }
        let rebuilt = try PublicKey(components: components)
        #expect(rebuilt.type == type)
        #expect(rebuilt.isValidSignature(try original.signature(for: message), for: message))
    }

    @Test("RSA keys under 2048 bits are refused when generated")
    func smallRSAGenerationRefused() {
        #expect(throws: CryptoError.rsaKeyTooSmall(bits: 1024)) { try PrivateKey.generate(.rsa, rsaBits: 1024) }
        #expect(throws: CryptoError.rsaKeyTooSmall(bits: 2047)) { try PrivateKey.generate(.rsa, rsaBits: 2047) }
    }

    @Test("RSA public keys under 2048 bits are refused from components and from PEM")
    func smallRSAImportRefused() throws {
        // Any odd number with its top bit set is a 1024-bit modulus as far as parsing goes;
        // nothing about the refusal may depend on the number being a real RSA modulus.
        var modulus = try SecureRandom.bytes(count: 128)
        modulus[0] |= 0x80
        modulus[127] |= 0x01
        #expect(throws: CryptoError.rsaKeyTooSmall(bits: 1024)) {
            try PublicKey(components: .rsa(modulus: modulus, exponent: [1, 0, 1]))
        }
        let pem = Self.rsaSubjectPublicKeyInfoPEM(modulus: modulus, exponent: [1, 0, 1])
        #expect(throws: CryptoError.rsaKeyTooSmall(bits: 1024)) { try PublicKey(pem: pem) }

        // The same encoder with a 2048-bit modulus is accepted, so the refusal above is the size rule.
        guard case .rsa(let big, let exponent) = try SharedKeys.key(.rsa).publicKey.components() else {
            Issue.record("RSA key without RSA components")
            return
        }
        let accepted = try PublicKey(pem: Self.rsaSubjectPublicKeyInfoPEM(modulus: big, exponent: exponent))
        #expect(accepted.type == .rsa)
    }

    @Test("documents that are not supported keys are invalidPEM")
    func invalidPEM() throws {
        let publicPEM = try SharedKeys.key(.p256).publicKey.pemRepresentation
        let privatePEM = try SharedKeys.key(.p256).pemRepresentation
        #expect(throws: CryptoError.invalidPEM) { try PrivateKey(pem: "") }
        #expect(throws: CryptoError.invalidPEM) { try PrivateKey(pem: "not a pem document") }
        #expect(throws: CryptoError.invalidPEM) { try PublicKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n") }
        // Each reader takes only its own kind of document.
        #expect(throws: CryptoError.invalidPEM) { try PrivateKey(pem: publicPEM) }
        #expect(throws: CryptoError.invalidPEM) { try PublicKey(pem: privatePEM) }
        // A truncated body.
        let lines = privatePEM.split(separator: "\n")
        let truncated = ([lines[0], lines[1]] + [lines.last!]).joined(separator: "\n") + "\n"
        #expect(throws: CryptoError.invalidPEM) { try PrivateKey(pem: truncated) }
    }

    @Test("an encrypted private key is refused without asking anyone for a passphrase")
    func encryptedPEMRefused() throws {
        // OpenSSL's default passphrase callback prompts on the terminal or, without one (as in
        // CI), reads standard input. Standard input holds the right passphrase here, so a reader
        // that let OpenSSL ask would decrypt the key instead of refusing it.
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data("hallpass\n".utf8))
        try pipe.fileHandleForWriting.close()
        let savedStandardInput = dup(STDIN_FILENO)
        try #require(savedStandardInput >= 0)
        dup2(pipe.fileHandleForReading.fileDescriptor, STDIN_FILENO)
        defer {
            dup2(savedStandardInput, STDIN_FILENO)
            close(savedStandardInput)
        }
        #expect(throws: CryptoError.invalidPEM) { try PrivateKey(pem: Self.encryptedP256PEM) }
    }

    @Test("a P-256 point that is not on the curve is refused")
    func pointNotOnCurve() throws {
        guard case .p256(let x, var y) = try SharedKeys.key(.p256).publicKey.components() else {
            Issue.record("P-256 key without P-256 components")
            return
        }
        y[31] ^= 0x01
        #expect(throws: CryptoError.invalidKeyMaterial("the point is not on P-256")) {
            try PublicKey(components: .p256(x: x, y: y))
        }
        // The all-zero "point" is not on the curve either.
        #expect(throws: CryptoError.self) {
            try PublicKey(components: .p256(x: [UInt8](repeating: 0, count: 32), y: [UInt8](repeating: 0, count: 32)))
        }
        #expect(throws: CryptoError.invalidKeyMaterial("P-256 coordinates must be 32 bytes each")) {
            try PublicKey(components: .p256(x: Array(x.dropFirst()), y: y))
        }
        #expect(throws: CryptoError.invalidKeyMaterial("Ed25519 public key must be 32 bytes")) {
            try PublicKey(components: .ed25519(x: [UInt8](repeating: 1, count: 31)))
        }
        #expect(throws: CryptoError.invalidKeyMaterial("Ed25519 seed must be 32 bytes")) {
            try PrivateKey(ed25519Seed: [UInt8](repeating: 1, count: 33))
        }
    }

    @Test("one key signs and verifies from many threads at once, from its first use on", arguments: KeyType.allCases)
    func concurrentUse(type: KeyType) async throws {
        // A key read from PEM has not signed or verified yet: the threads below race to set up
        // its initialised contexts, which every later operation copies.
        let key = try PrivateKey(pem: try SharedKeys.key(type).pemRepresentation)
        let publicKey = try PublicKey(pem: key.publicKey.pemRepresentation)
        let outcomes = try await withThrowingTaskGroup(of: [Bool].self) { group in
            for task in 0..<8 {
                group.addTask {
                    var outcomes: [Bool] = []
                    for round in 0..<25 {
                        let message = Array("task \(task) round \(round)".utf8)
                        let signature = try key.signature(for: message)
                        outcomes.append(publicKey.isValidSignature(signature, for: message))
                        outcomes.append(key.publicKey.isValidSignature(signature, for: message))
                        // And a wrong message still fails on a copied context.
                        outcomes.append(!publicKey.isValidSignature(signature, for: message + [0]))
                    }
                    return outcomes
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(outcomes.count == 8 * 25 * 3)
        #expect(outcomes.allSatisfy { $0 })
    }

    @Test("a private key's description names its type and no key material")
    func descriptionHidesMaterial() throws {
        for type in KeyType.allCases {
            let key = try SharedKeys.key(type)
            let pemBody = key.pemRepresentation
                .split(separator: "\n")
                .filter { !$0.hasPrefix("-----") }
            for text in [key.description, "\(key)", String(reflecting: key)] {
                #expect(text == "PrivateKey(\(type.rawValue))")
                #expect(!text.contains("BEGIN"))
                for line in pemBody { #expect(!text.contains(line)) }
            }
        }
    }

    // MARK: - Fixtures

    /// A throwaway P-256 key encrypted under the passphrase "hallpass" (AES-256-CBC, PBKDF2),
    /// made with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc`.
    static let encryptedP256PEM = """
        -----BEGIN ENCRYPTED PRIVATE KEY-----
        MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjInVow3sng1AICCAAw
        DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEExmtTDI/ZI/OC1huUF3a/8EgZA4
        nu8rg6gTGmE+QsRfiB63WDPLUGlB7u3U2TyDBfmXaCmYF3dEnq3o25UGCFE41Xuv
        kV37fe90fizXfqT74ZiwiMp+d1bkHHgts6pTrKblxPMH6AC2dMPbq37L/6JFhEQd
        S4UVrHgxjoblUMhhQhZ2q0HnqY97DqcWxmJYl7g69ipOpuoWx0ER+NYzJccOAbo=
        -----END ENCRYPTED PRIVATE KEY-----

        """

    /// A `-----BEGIN PUBLIC KEY-----` document for an RSA key, built field by field in DER so
    /// the size check can be tested with keys that no generator here is willing to make.
    static func rsaSubjectPublicKeyInfoPEM(modulus: [UInt8], exponent: [UInt8]) -> String {
        func length(_ count: Int) -> [UInt8] {
            if count < 0x80 { return [UInt8(count)] }
            var bytes: [UInt8] = []
            var remaining = count
            while remaining > 0 { bytes.insert(UInt8(remaining & 0xff), at: 0); remaining >>= 8 }
            return [0x80 | UInt8(bytes.count)] + bytes
        }
        func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }
        func integer(_ magnitude: [UInt8]) -> [UInt8] {
            tlv(0x02, magnitude[0] & 0x80 != 0 ? [0] + magnitude : magnitude)
        }
        let rsaEncryption: [UInt8] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]
        let publicKey = tlv(0x30, integer(modulus) + integer(exponent))
        let spki = tlv(0x30, tlv(0x30, rsaEncryption) + tlv(0x03, [0x00] + publicKey))
        let body = Data(spki).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN PUBLIC KEY-----\n\(body)\n-----END PUBLIC KEY-----\n"
    }
}
