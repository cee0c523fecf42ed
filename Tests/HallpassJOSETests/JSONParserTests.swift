import HallpassJOSE
import Testing

@Suite("JSON parser and serializer")
struct JSONParserTests {
    func parse(_ text: String) throws(JSONError) -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    @Test("parses valid documents")
    func validDocuments() throws {
        #expect(try parse("{}") == .object([:]))
        #expect(try parse("[]") == .array([]))
        #expect(try parse(" \t\r\n{ \"a\" : [ 1 , -2 , 3.5 , -0.25e2 , 1E3 ] , \"b\" : { } } \n") == .object([
            "a": .array([.integer(1), .integer(-2), .number(3.5), .number(-25), .number(1000)]),
            "b": .object([:]),
        ]))
        #expect(try parse("[true,false,null]") == [true, false, nil])
        #expect(try parse("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041\\u00e9\"") == .string("\" \\ / \u{8} \u{c} \n \r \t Aé"))
        #expect(try parse("\"héllo ☃\"") == .string("héllo ☃"))
        #expect(try parse("0") == .integer(0))
        #expect(try parse("-0") == .integer(0))
        #expect(try parse("9223372036854775807") == .integer(.max))
        // Past 64 bits a number is still a number, just not an exact integer.
        #expect(try parse("9223372036854775808") == .number(9_223_372_036_854_775_808.0))
        #expect(try parse("1300819380").numericValue == 1_300_819_380)
    }

    @Test("decodes escaped surrogate pairs")
    func surrogatePairs() throws {
        #expect(try parse("\"\\ud83d\\ude00\"") == .string("😀"))
        #expect(try parse("\"\\uD834\\uDD1E x\"") == .string("𝄞 x"))
    }

    @Test("refuses duplicate member names, however they are spelled")
    func duplicateMembers() {
        #expect(throws: JSONError.duplicateMember("a")) { try parse("{\"a\":1,\"a\":2}") }
        #expect(throws: JSONError.duplicateMember("a")) { try parse("{\"a\":1,\"\\u0061\":1}") }
        #expect(throws: JSONError.duplicateMember("x")) { try parse("{\"o\":{\"x\":null,\"y\":0,\"x\":null}}") }
    }

    @Test("refuses trailing commas")
    func trailingCommas() {
        #expect(throws: JSONError.unexpectedByte(offset: 7)) { try parse("{\"a\":1,}") }
        #expect(throws: JSONError.unexpectedByte(offset: 3)) { try parse("[1,]") }
        #expect(throws: JSONError.unexpectedByte(offset: 1)) { try parse("[,1]") }
    }

    @Test("refuses comments")
    func comments() {
        #expect(throws: JSONError.unexpectedByte(offset: 0)) { try parse("// c\n{}") }
        #expect(throws: JSONError.unexpectedByte(offset: 1)) { try parse("{/* c */}") }
        #expect(throws: JSONError.trailingData(offset: 3)) { try parse("{} // c") }
    }

    @Test("refuses leading zeros and other malformed numbers")
    func numbers() {
        #expect(throws: JSONError.invalidNumber(offset: 0)) { try parse("01") }
        #expect(throws: JSONError.invalidNumber(offset: 0)) { try parse("-01") }
        #expect(throws: JSONError.invalidNumber(offset: 1)) { try parse("[00]") }
        #expect(throws: JSONError.invalidNumber(offset: 5)) { try parse("{\"a\":012}") }
        #expect(throws: JSONError.invalidNumber(offset: 0)) { try parse("1.") }
        #expect(throws: JSONError.invalidNumber(offset: 0)) { try parse("1e") }
        #expect(throws: JSONError.invalidNumber(offset: 0)) { try parse("-a") }
        #expect(throws: JSONError.unexpectedByte(offset: 0)) { try parse(".5") }
        #expect(throws: JSONError.unexpectedByte(offset: 0)) { try parse("+1") }
        #expect(throws: JSONError.unexpectedEnd) { try parse("-") }
        // JSON has no infinity: a literal too large for a Double is not silently rounded to one.
        #expect(throws: JSONError.invalidNumber(offset: 0)) { try parse("1e400") }
    }

    @Test("refuses lone surrogates")
    func loneSurrogates() {
        #expect(throws: JSONError.invalidString(offset: 7)) { try parse("\"\\ud800\"") }
        #expect(throws: JSONError.invalidString(offset: 7)) { try parse("\"\\udc00\"") }
        #expect(throws: JSONError.invalidString(offset: 13)) { try parse("\"\\ud800\\u0041\"") }
        #expect(throws: JSONError.invalidString(offset: 13)) { try parse("\"\\ud800\\ud800\"") }
        #expect(throws: JSONError.invalidString(offset: 7)) { try parse("\"\\ud800x\"") }
    }

    @Test("refuses bytes that are not UTF-8")
    func invalidUTF8() {
        let documents: [[UInt8]] = [
            [0x22, 0xff, 0x22],                      // never valid
            [0x22, 0xc0, 0xaf, 0x22],                // overlong "/"
            [0x22, 0xed, 0xa0, 0x80, 0x22],          // a surrogate encoded directly
            [0x22, 0xe2, 0x98, 0x22],                // truncated sequence
            [0x22, 0x80, 0x22],                      // lone continuation byte
            [0x22, 0x5c, 0x6e, 0xff, 0x22],          // after an escape, on the slow path
            [0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d], // in a member name
        ]
        for document in documents {
            #expect(throws: JSONError.invalidUTF8) { try JSONParser.parse(document) }
        }
        // Outside strings, a non-ASCII byte cannot start a value.
        #expect(throws: JSONError.unexpectedByte(offset: 1)) { try JSONParser.parse([0x5b, 0xff, 0x5d]) }
    }

    @Test("refuses unescaped control characters in strings")
    func controlCharacters() throws {
        #expect(throws: JSONError.invalidString(offset: 2)) { try parse("\"a\nb\"") }
        #expect(throws: JSONError.invalidString(offset: 1)) { try parse("\"\u{1}\"") }
        #expect(throws: JSONError.invalidString(offset: 3)) { try parse("\"\\n\t\"") }
        #expect(throws: JSONError.invalidString(offset: 1)) { try JSONParser.parse([0x22, 0x00, 0x22]) }
        #expect(throws: JSONError.invalidString(offset: 2)) { try parse("\"\\x\"") }
        // DEL is not a control character in JSON's sense.
        #expect(try parse("\"\u{7f}\"") == .string("\u{7f}"))
    }

    @Test("refuses data after the value")
    func trailingData() {
        #expect(throws: JSONError.trailingData(offset: 3)) { try parse("{} {}") }
        #expect(throws: JSONError.trailingData(offset: 2)) { try parse("1 2") }
        #expect(throws: JSONError.trailingData(offset: 4)) { try JSONParser.parse(Array("null".utf8) + [0]) }
    }

    @Test("refuses truncated documents")
    func truncated() {
        for text in ["", " ", "{", "{\"a\"", "{\"a\":", "[1", "\"abc", "\"\\u12", "tru", "nul"] {
            #expect(throws: JSONError.unexpectedEnd) { try parse(text) }
        }
        #expect(throws: JSONError.unexpectedByte(offset: 2)) { try parse("trUe") }
    }

    @Test("refuses nesting deeper than the limit, without exhausting the stack")
    func depthBombs() throws {
        let limit = 32
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(try parse(deepest) != .null)
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: JSONError.tooDeep) { try parse(tooDeep) }
        let objects = String(repeating: "{\"a\":", count: limit + 1) + "1" + String(repeating: "}", count: limit + 1)
        #expect(throws: JSONError.tooDeep) { try parse(objects) }
        // A bomb far past any stack: refused at depth 33, long before the end.
        #expect(throws: JSONError.tooDeep) { try JSONParser.parse([UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)) }
        #expect(throws: JSONError.tooDeep) { try parse(String(repeating: "{\"a\":[", count: 50_000)) }
        // The limit is a parameter.
        #expect(throws: JSONError.tooDeep) { try JSONParser.parse(Array("[[1]]".utf8), maxDepth: 1) }
        #expect(try JSONParser.parse(Array("[[1]]".utf8), maxDepth: 2) == [[1]])
    }

    @Test("serializes compactly with members sorted by code point")
    func serializer() throws {
        let value: JSONValue = [
            "b": 1,
            "a": [true, nil, "x"],
            "c": ["z": "last", "y": 1.5, "Z": -2],
        ]
        #expect(value.serializedString == "{\"a\":[true,null,\"x\"],\"b\":1,\"c\":{\"Z\":-2,\"y\":1.5,\"z\":\"last\"}}")
        #expect(try JSONParser.parse(value.serialized) == value)
    }

    @Test("sorts by code point, not by UTF-16 unit or by Unicode collation")
    func codePointOrder() throws {
        // U+FF61 sorts before U+1F600 by code point, but after it in UTF-16 (0xD83D < 0xFF61).
        let value: JSONValue = .object(["\u{1F600}": 1, "\u{FF61}": 2, "é": 3, "z": 4, "Z": 5])
        #expect(value.serializedString == "{\"Z\":5,\"z\":4,\"é\":3,\"\u{FF61}\":2,\"\u{1F600}\":1}")
    }

    @Test("escapes what JSON requires and nothing else")
    func stringEscapes() throws {
        let value: JSONValue = .string("q\" b\\ n\n r\r t\t b\u{8} f\u{c} c\u{1} d\u{1f} / é 😀")
        #expect(value.serializedString == "\"q\\\" b\\\\ n\\n r\\r t\\t b\\b f\\f c\\u0001 d\\u001f / é 😀\"")
        #expect(try JSONParser.parse(value.serialized) == value)
    }

    @Test("writes integral numbers without a fraction")
    func numberSerialization() {
        #expect(JSONValue.integer(-42).serializedString == "-42")
        #expect(JSONValue.number(2).serializedString == "2")
        #expect(JSONValue.number(0.5).serializedString == "0.5")
        #expect(JSONValue.integer(.min).serializedString == "-9223372036854775808")
    }
}
