/// Runs `body` over the contiguous bytes of `bytes`, copying only when the sequence has no
/// contiguous storage of its own (Array, ArraySlice, String.UTF8View and the like have it).

func withContiguousBytes<Result>(
    _ bytes: some Sequence<UInt8>,
    _ body: (UnsafeRawBufferPointer) throws -> Result
) rethrows -> Result {
    if let result = try bytes.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return try Array(bytes).withUnsafeBytes(body)
}
