import Foundation
import HallpassOTP
import HallpassQR
import HallpassTestSupport
import Testing

/// QR codes checked by a decoder nobody here wrote: our SVG rendered to PNG by `rsvg-convert`
/// (librsvg) and read back by `zbarimg` (ZBar) must give exactly the text encoded. Both come
/// from Debian packages that `ops/test` installs; without them these tests fail, not skip.
@Suite("QR codes")
struct QRCodeTests {
    /// A real enrolment URI: an email account with characters that need percent-encoding.
    static let otpauthURI = TOTP(secret: Array("a QR test secret 20b".utf8))
        .provisioningURI(issuer: "Hallpass", account: "zoë.o'brien+mfa@example.com")

    /// 300 characters of mixed ASCII (letters of both cases, digits, punctuation).
    static let long300: String = {
        let pattern = Array("The quick brown fox jumps over the lazy dog 0123456789 <&>\"'!?#%/=+:;,.-_~")
        return String((0..<300).map { pattern[($0 * 7) % pattern.count] })
    }()

    struct Payload: Sendable, CustomTestStringConvertible {
        let name: String
        let text: String
        var testDescription: String { name }
    }

    static let payloads = [
        Payload(name: "otpauth URI", text: otpauthURI),
        Payload(name: "300 characters", text: long300),
        Payload(name: "one character", text: "x"),
        Payload(name: "non-ASCII text", text: "Zoë’s Hallpass ☃ — ✓"),
    ]

    @Test("zbarimg reads back exactly what was encoded", arguments: payloads)
    func roundTrip(_ payload: Payload) async throws {
        #expect(payload.name != "300 characters" || payload.text.count == 300)
        let code = try QRCode(payload.text)
        let decoded = try await Self.decode(code.svg(title: "QR code for \(payload.name)"))
        #expect(decoded == payload.text)
    }

    @Test("every error correction level decodes, and more correction is never smaller", arguments: QRCode.ErrorCorrection.allCases)
    func errorCorrection(_ level: QRCode.ErrorCorrection) async throws {
        let code = try QRCode(Self.otpauthURI, errorCorrection: level)
        #expect(try await Self.decode(code.svg(moduleSize: 3, title: "QR code")) == Self.otpauthURI)
        let lower = try QRCode(Self.otpauthURI, errorCorrection: .low)
        #expect(code.size >= lower.size)
    }

    @Test("geometry: size is 17 + 4 × version, finder patterns where they belong, light outside")
    func geometry() throws {
        let code = try QRCode(Self.otpauthURI)
        #expect((1...40).contains(code.version))
        #expect(code.size == 17 + 4 * code.version)
        // The three finder patterns (7×7 ring, 3×3 centre) at the top left, top right, bottom left.
        for (left, top) in [(0, 0), (code.size - 7, 0), (0, code.size - 7)] {
            #expect(code.isDark(x: left, y: top))
            #expect(code.isDark(x: left + 6, y: top + 6))
            #expect(!code.isDark(x: left + 1, y: top + 1))
            #expect(code.isDark(x: left + 3, y: top + 3))
        }
        // The separator around the top-left finder is light.
        #expect(!code.isDark(x: 7, y: 0) && !code.isDark(x: 0, y: 7))
        // The timing patterns (row 6 and column 6 between the finders) alternate, dark first.
        for index in 8..<(code.size - 8) {
            #expect(code.isDark(x: index, y: 6) == index.isMultiple(of: 2), "row 6, column \(index)")
            #expect(code.isDark(x: 6, y: index) == index.isMultiple(of: 2), "column 6, row \(index)")
        }
        #expect(!code.isDark(x: -1, y: 0) && !code.isDark(x: 0, y: -1))
        #expect(!code.isDark(x: code.size, y: 0) && !code.isDark(x: 0, y: code.size))
        // A NUL is data, not the end of the text (byte mode with a length, not a C string).
        #expect(try QRCode("a\u{0}b") != QRCode("a"))
        // The same text gives the same code.
        #expect(try QRCode(Self.otpauthURI) == code)
    }

    @Test("too long a text throws inputTooLong with the limit; the limit itself fits")
    func tooLong() throws {
        #expect(throws: QRCodeError.inputTooLong(byteCount: 10_000, maximum: 2331)) {
            try QRCode(String(repeating: "a", count: 10_000))
        }
        for level in QRCode.ErrorCorrection.allCases {
            let limit = level.maximumByteCount
            let fits = try QRCode(String(repeating: "a", count: limit), errorCorrection: level)
            #expect(fits.version == 40)
            #expect(throws: QRCodeError.inputTooLong(byteCount: limit + 1, maximum: limit)) {
                try QRCode(String(repeating: "a", count: limit + 1), errorCorrection: level)
            }
        }
        // The limit counts UTF-8 bytes, not characters: 1000 snowmen are 3000 bytes.
        #expect(throws: QRCodeError.inputTooLong(byteCount: 3000, maximum: 2331)) {
            try QRCode(String(repeating: "☃", count: 1000))
        }
        #expect(throws: QRCodeError.emptyInput) { try QRCode("") }
    }

    @Test("the SVG is well-formed XML with an accessible name and one path")
    func svgStructure() async throws {
        let python = try InteropPython.executable()
        let code = try QRCode(Self.otpauthURI)
        let title = "Scan <this> with your app & \"enjoy\" 'it'"
        let svg = code.svg(moduleSize: 5, quietZone: 4, title: title, titleID: "qr-1")
        let script = """
            import json, sys
            import xml.etree.ElementTree as ET
            ns = "{http://www.w3.org/2000/svg}"
            root = ET.fromstring(sys.stdin.read())
            title = root.find(ns + "title")
            print(json.dumps({
                "root": root.tag, "attributes": root.attrib,
                "children": [child.tag.replace(ns, "") for child in root],
                "title": title.text, "title_id": title.get("id"),
                "paths": len(root.findall(".//" + ns + "path")),
                "rect": root.find(ns + "rect").attrib,
            }))
            """
        let output = try await runProcess(python, ["-c", script], input: svg)
        try #require(output.status == 0, "xml.etree refused the SVG:\n\(output.standardError)\n\(svg)")
        struct Parsed: Decodable {
            let root: String
            let attributes: [String: String]
            let children: [String]
            let title: String
            let title_id: String
            let paths: Int
            let rect: [String: String]
        }
        let parsed = try JSONDecoder().decode(Parsed.self, from: Data(output.standardOutput.utf8))
        let side = code.size + 8
        #expect(parsed.root == "{http://www.w3.org/2000/svg}svg")
        #expect(parsed.attributes["role"] == "img")
        #expect(parsed.attributes["aria-labelledby"] == "qr-1")
        #expect(parsed.attributes["viewBox"] == "0 0 \(side) \(side)")
        #expect(parsed.attributes["width"] == "\(side * 5)")
        #expect(parsed.attributes["height"] == "\(side * 5)")
        #expect(parsed.attributes["shape-rendering"] == "crispEdges")
        #expect(parsed.children == ["title", "rect", "path"])
        #expect(parsed.title == title)
        #expect(parsed.title_id == "qr-1")
        #expect(parsed.paths == 1)
        #expect(parsed.rect["fill"] == "#fff")
        // Run-length rows keep it small: a version 5–7 code is a few kilobytes, not one
        // rectangle per module.
        #expect(svg.utf8.count < 12_000, "\(svg.utf8.count) bytes")
    }

    /// Renders `svg` to PNG with rsvg-convert and returns what zbarimg reads from it.
    static func decode(_ svg: String) async throws -> String {
        let rsvg = try tool("rsvg-convert", package: "librsvg2-bin")
        let zbarimg = try tool("zbarimg", package: "zbar-tools")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hallpass-qr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let svgFile = directory.appendingPathComponent("code.svg")
        let pngFile = directory.appendingPathComponent("code.png")
        try Data(svg.utf8).write(to: svgFile)
        if let keep = ProcessInfo.processInfo.environment["HALLPASS_QR_SAMPLE_DIR"] {
            // For looking at a rendering by eye: ops/test leaves this unset.
            try? Data(svg.utf8).write(to: URL(fileURLWithPath: keep).appendingPathComponent("sample-\(svg.utf8.count).svg"))
        }

        let rendered = try await runProcess(rsvg, ["--format", "png", "--output", pngFile.path, svgFile.path])
        try #require(rendered.status == 0, "rsvg-convert failed: \(rendered.standardError)")
        let read = try await runProcess(zbarimg, ["--raw", "-q", pngFile.path])
        try #require(read.status == 0, "zbarimg found no code (exit \(read.status)): \(read.standardError)")
        // --raw prints the data followed by one newline.
        var text = read.standardOutput
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    struct MissingTool: Error, CustomStringConvertible {
        let name: String
        let package: String
        var description: String { "\(name) is not installed: run the tests with ops/test, which installs \(package)" }
    }

    /// `name` on PATH, or an error naming the Debian package that has it.
    static func tool(_ name: String, package: String) throws -> URL {
        do { return try findExecutable(name) } catch { throw MissingTool(name: name, package: package) }
    }
}
