public import HallpassRedis
public import Logging

/// A logger for the clients and services a test builds: critical messages only, so a test's
/// output shows its own failures rather than the retries it provokes on purpose.
public let quietLogger: Logger = {
    var logger = Logger(label: "hallpass.test")
    logger.logLevel = .critical
    return logger
}()

/// A Redis client for a test's own reads and writes. Its timeouts are generous: on a machine
/// whose two cores are shared with other builds a local connect can take seconds, and a test's
/// setup step timing out would fail the test for a reason it does not test.
///
/// For a `rediss://` URL, `caFile` is the CA the server's certificate chains to.
public func testRedisClient(url: String, caFile: String? = nil) throws -> RedisClient {
    var configuration = try RedisConfiguration(url: url)
    if let caFile { configuration.tls?.caFile = caFile }
    configuration.connectTimeout = .seconds(20)
    configuration.commandTimeout = .seconds(20)
    return RedisClient(configuration: configuration, logger: quietLogger)
}
