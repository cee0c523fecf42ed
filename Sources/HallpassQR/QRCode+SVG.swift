extension QRCode {
    /// The code as a standalone SVG image, for an `<img>` data URI or inline in a page.
    ///
    /// One `<svg>` with a white background `<rect>` and a single black `<path>` holding every
    /// dark module: each row's runs of adjacent dark modules become one rectangle each, which
    /// keeps an enrolment QR code to a few kilobytes, with `shape-rendering="crispEdges"` so
    /// anti-aliasing never blurs module edges into grey. The `viewBox` counts modules, so the
    /// image scales to any size; `width` and `height` give its natural size in pixels.
    ///
    /// For screen readers the image has `role="img"` and `aria-labelledby` pointing at its
    /// `<title>` (the accessible name, e.g. "QR code to add Hallpass to your authenticator app").
    ///
    /// - Parameters:
    ///   - moduleSize: Pixels per module in `width` and `height`, at least 1.
    ///   - quietZone: Light modules around the symbol. ISO/IEC 18004 asks for 4; scanners can
    ///     fail to find a code with less.
    ///   - title: The accessible name; XML-escaped here, so any text is safe.
    ///   - titleID: The `id` of the `<title>`. Ids must be unique in a page, so give each code
    ///     its own when a page shows more than one.
    public func svg(moduleSize: Int = 4, quietZone: Int = 4, title: String, titleID: String = "hallpass-qr-title") -> String {
        precondition(moduleSize >= 1, "a module is at least one pixel")
        precondition(quietZone >= 0, "the quiet zone cannot be negative")
        let side = size + 2 * quietZone
        let pixels = side * moduleSize
        let id = Self.escapeXML(titleID)

        // Runs, row by row: "M x y h n v1 h -n z" is an n×1 rectangle, drawn from its top left.
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else {
                    x += 1
                    continue
                }
                let start = x
                while x < size, isDark(x: x, y: y) { x += 1 }
                path += "M\(start + quietZone) \(y + quietZone)h\(x - start)v1h-\(x - start)z"
            }
        }

        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" width="\(pixels)" height="\(pixels)" \
            role="img" aria-labelledby="\(id)" shape-rendering="crispEdges">\
            <title id="\(id)">\(Self.escapeXML(title))</title>\
            <rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/>\
            </svg>
            """
    }

    /// `text` safe inside XML character data and double- or single-quoted attributes.
    static func escapeXML(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // Control characters other than tab, newline and carriage return are not allowed in
            // XML 1.0 at all, not even as references: drop them rather than emit a broken document.
            case "\u{0}"..."\u{8}", "\u{B}", "\u{C}", "\u{E}"..."\u{1F}", "\u{FFFE}", "\u{FFFF}": continue
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}
