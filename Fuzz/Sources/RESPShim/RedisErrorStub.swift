// Not a link to HallpassRedis's RedisError.swift: that enum's other cases name TLS and Sentinel
// types whose files need SwiftNIO, which would more than double the sanitized build.
// RESPReader.swift throws only this case, so this is all it needs to compile.

/// Stands in for HallpassRedis's `RedisError` in the `resp` fuzz target.
enum RedisError: Error, Equatable {
    case protocolError(String)
}
