extension QRCode {
    /// How much of a symbol can be damaged or hidden and still be read (ISO/IEC 18004 §5.3.8).
    /// More correction means a larger symbol for the same text.
    public enum ErrorCorrection: Sendable, Hashable, CaseIterable {
        /// About 7 % of the codewords can be restored.
        case low
        /// About 15 %: the usual choice for a screen, and the default.
        case medium
        /// About 25 %.
        case quartile
        /// About 30 %: for print that may get scuffed, or a logo laid over the middle.
        case high

        /// The most bytes a version 40 symbol holds in byte mode at this level (ISO/IEC 18004
        /// table 7), so a text that cannot fit is refused with the limit in the error.
        public var maximumByteCount: Int {
            switch self {
            case .low: 2953
            case .medium: 2331
            case .quartile: 1663
            case .high: 1273
            }
        }
    }
}
