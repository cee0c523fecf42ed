/// Why a text could not be made into a QR code.
public enum QRCodeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// There is nothing to encode.
    case emptyInput
    /// The text is `byteCount` UTF-8 bytes, more than the largest QR code (version 40) holds at
    /// the chosen error correction level (`maximum` bytes). A lower level or a shorter text fits.
    case inputTooLong(byteCount: Int, maximum: Int)
    /// libqrencode refused the input as invalid (it does not for byte-mode data of a valid length).
    case invalidInput
    /// libqrencode could not allocate memory.
    case outOfMemory
    /// libqrencode failed with an `errno` value it does not document.
    case encoderFailed(errno: Int32)

    /// What went wrong, in a sentence for a log or an operator.
    public var description: String {
        switch self {
        case .emptyInput: "a QR code needs at least one byte of text"
        case .inputTooLong(let byteCount, let maximum):
            "the text is \(byteCount) bytes; a QR code at this error correction level holds at most \(maximum)"
        case .invalidInput: "libqrencode refused the input as invalid"
        case .outOfMemory: "libqrencode ran out of memory"
        case .encoderFailed(let errno): "libqrencode failed (errno \(errno))"
        }
    }
}
