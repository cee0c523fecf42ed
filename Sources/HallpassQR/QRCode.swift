import CQRencode

/// A QR code (ISO/IEC 18004) as a square of light and dark modules, made by libqrencode.
///
/// The text is encoded as UTF-8 in byte mode, in the smallest version that holds it at the
/// chosen error correction level. The value owns a copy of the modules, so nothing of
/// libqrencode's memory outlives the initializer. ``svg(moduleSize:quietZone:title:titleID:)``
/// draws it.
public struct QRCode: Sendable, Hashable {
    /// The symbol's version, 1 to 40: size is `17 + 4 × version` modules.
    public let version: Int
    /// The number of modules along each side, without the quiet zone.
    public let size: Int
    /// Row-major, `size × size`: true for a dark module.
    private let modules: [Bool]

    /// Encodes `text`.
    ///
    /// - Parameters:
    ///   - text: What the code should read as, e.g. an `otpauth://` URI; encoded as UTF-8.
    ///   - errorCorrection: The error correction level; medium by default.
    /// - Throws: ``QRCodeError/emptyInput`` for an empty text;
    ///   ``QRCodeError/inputTooLong(byteCount:maximum:)`` when the text does not fit in the
    ///   largest symbol at this level; the other cases if libqrencode itself fails.
    public init(_ text: String, errorCorrection: ErrorCorrection = .medium) throws(QRCodeError) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw .emptyInput }
        // Checked here as well as by libqrencode (ERANGE) so the error can say what the limit
        // is, and so a huge text never reaches an `int` length.
        guard bytes.count <= errorCorrection.maximumByteCount else {
            throw .inputTooLong(byteCount: bytes.count, maximum: errorCorrection.maximumByteCount)
        }

        var error: Int32 = 0
        // Byte mode for the whole text: unlike QRcode_encodeString it takes a length, so a NUL
        // in the text is encoded rather than ending it early.
        let encoded = bytes.withUnsafeBufferPointer { buffer in
            hallpass_QRcode_encodeData(Int32(buffer.count), buffer.baseAddress, errorCorrection.level, &error)
        }
        guard let encoded else {
            switch error {
            case hallpass_QR_ERANGE:
                throw .inputTooLong(byteCount: bytes.count, maximum: errorCorrection.maximumByteCount)
            case hallpass_QR_EINVAL: throw .invalidInput
            case hallpass_QR_ENOMEM: throw .outOfMemory
            default: throw .encoderFailed(errno: error)
            }
        }
        defer { QRcode_free(encoded) }

        let width = Int(encoded.pointee.width)
        guard width > 0, let data = encoded.pointee.data else { throw .encoderFailed(errno: 0) }
        // Each byte describes one module; bit 0 is set for a dark one (the other bits say what
        // kind of module it is, which a drawing does not need).
        let cells = UnsafeBufferPointer(start: data, count: width * width)
        self.version = Int(encoded.pointee.version)
        self.size = width
        self.modules = cells.map { $0 & 1 == 1 }
    }

    /// Whether the module in column `x`, row `y` (0-based from the top left) is dark.
    ///
    /// Coordinates outside the symbol are light, as the quiet zone around it must be, so a
    /// renderer can draw a margin with the same call.
    public func isDark(x: Int, y: Int) -> Bool {
        guard (0..<size).contains(x), (0..<size).contains(y) else { return false }
        return modules[y * size + x]
    }
}

extension QRCode.ErrorCorrection {
    /// libqrencode's name for the level.
    var level: QRecLevel {
        switch self {
        case .low: QR_ECLEVEL_L
        case .medium: QR_ECLEVEL_M
        case .quartile: QR_ECLEVEL_Q
        case .high: QR_ECLEVEL_H
        }
    }
}
