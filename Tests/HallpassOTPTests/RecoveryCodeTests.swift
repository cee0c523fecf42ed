import HallpassCrypto
import HallpassOTP
import Testing

@Suite("Recovery codes")
struct RecoveryCodeTests {
    /// Crockford's base32, lowercase: no i, l, o, u.
    static let alphabet = Set("0123456789abcdefghjkmnpqrstvwxyz")

    @Test("ten distinct codes by default, shown as four groups of four")
    func generate() throws {
        let codes = try RecoveryCode.generate()
        #expect(codes.count == 10)
        #expect(Set(codes.map(\.normalizedText)).count == 10)
        for code in codes {
            let display = code.displayText
            #expect(display.count == 19)
            let groups = display.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.count == 4)
            #expect(groups.allSatisfy { $0.count == 4 })
            #expect(code.normalizedText.count == 16)
            #expect(code.normalizedText.allSatisfy { Self.alphabet.contains($0) }, "\(code.normalizedText)")
            #expect(groups.joined() == code.normalizedText)
        }
        #expect(try RecoveryCode.generate(count: 3).count == 3)
        #expect(try RecoveryCode.generate(count: 0).isEmpty)
    }

    @Test("1000 generated codes are all distinct and use the whole alphabet")
    func distinct() throws {
        let codes = try RecoveryCode.generate(count: 1000)
        #expect(Set(codes.map(\.normalizedText)).count == 1000)
        // 16 000 characters from 32 symbols: a symbol that never appears means a broken encoder
        // (p of a given one missing ≈ e^-500).
        let used = Set(codes.flatMap(\.normalizedText))
        #expect(used == Self.alphabet)
        // Every position varies, including the first and last (no fixed or zero bits).
        for position in [0, 7, 15] {
            let symbols = Set(codes.map { Array($0.normalizedText)[position] })
            #expect(symbols.count > 16, "position \(position)")
        }
    }

    @Test("normalization ignores case, dashes and spaces, and reads i, l, o as 1, 1, 0")
    func normalization() throws {
        let code = try #require(try RecoveryCode.generate(count: 1).first)
        let display = code.displayText
        let variants = [
            display,
            display.uppercased(),
            code.normalizedText,
            code.normalizedText.uppercased(),
            display.replacingOccurrences(of: "-", with: " "),
            "  " + display.replacingOccurrences(of: "-", with: " - ") + " ",
            String(display.prefix(9)) + String(display.dropFirst(9)).uppercased(),
        ]
        for variant in variants {
            #expect(RecoveryCode.normalized(variant) == code.normalizedText, "\(variant)")
            #expect(RecoveryCode(variant)?.matches(hash: code.hash) == true, "\(variant)")
        }
        #expect(RecoveryCode.normalized("abcd-efgh-jkmn-pqrs") == "abcdefghjkmnpqrs")
        #expect(RecoveryCode.normalized("ABCD EFGH JKMN PQRS") == "abcdefghjkmnpqrs")
        #expect(RecoveryCode.normalized("o0i1-l1OI-L000-1111") == "0011110110001111")
    }

    @Test(
        "anything else is refused",
        arguments: [
            "", "abcd-efgh-jkmn-pqr", "abcd-efgh-jkmn-pqrst", "abcd-efgh-jkmn-pqru", "abcd_efgh_jkmn_pqrs",
            "abcd.efgh.jkmn.pqrs", "abcd\tefgh-jkmn-pqrs", "abcd-efgh-jkmn-pqr\u{00e9}", "abcd-efgh-jkmn-pqr\u{0455}",
            "abcd-efgh-jkmn-pqr٣", "abcd-efgh-jkmn-pqrs\n", "abcd-efgh-jkmn-pqrs!",
        ]
    )
    func refused(_ input: String) {
        #expect(RecoveryCode.normalized(input) == nil)
        #expect(RecoveryCode(input) == nil)
    }

    @Test("the stored hash is hex SHA-256 of the normalized code and matches only that code")
    func hashing() throws {
        let codes = try RecoveryCode.generate(count: 2)
        let first = codes[0], second = codes[1]
        #expect(first.hash == hexString(Digest.sha256(Array(first.normalizedText.utf8))))
        #expect(first.hash == RecoveryCode.hash(first.normalizedText))
        #expect(first.hash.count == 64)
        #expect(first.matches(hash: first.hash))
        #expect(!first.matches(hash: second.hash))
        #expect(!second.matches(hash: first.hash))
        #expect(!first.matches(hash: ""))
        #expect(!first.matches(hash: first.hash.uppercased()))
        #expect(!first.matches(hash: String(first.hash.dropLast())))
        // A known answer, so the stored form cannot change unnoticed.
        #expect(RecoveryCode.hash("abcdefghjkmnpqrs") == "54a4c55a9009eae9f27d09ce2693cecaa2f44fd29978f881c314b3c88d7307bb")
        let typed = try #require(RecoveryCode(first.displayText.uppercased()))
        #expect(typed.matches(hash: first.hash))
    }

    @Test("the code is not in description, debugDescription or dump")
    func redaction() throws {
        let code = try #require(try RecoveryCode.generate(count: 1).first)
        var dumped = ""
        dump(code, to: &dumped)
        for form in [code.description, String(reflecting: code), "\(code)", dumped] {
            #expect(!form.contains(code.normalizedText) && !form.contains(code.displayText), "\(form)")
        }
    }
}
