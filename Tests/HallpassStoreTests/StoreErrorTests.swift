import HallpassRedis
import Testing
@testable import HallpassStore

@Suite("StoreError: which Redis failures mean 'unavailable'")
struct StoreErrorTests {
    @Test(
        "refusals caused by Redis's own state are unavailable (503), not failed (500)",
        arguments: [
            "LOADING Redis is loading the dataset in memory",
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            "READONLY You can't write against a read only replica.",
            "TRYAGAIN Multiple keys request during rehashing of slot",
            "CLUSTERDOWN The cluster is down",
        ])
    func transientRefusals(message: String) {
        #expect(StoreError(RedisError.server(message)) == .unavailable(.server(message)))
    }

    @Test(
        "other error replies are failures",
        arguments: ["ERR unknown command", "WRONGTYPE Operation against a key holding the wrong kind of value", "BUSYKEY Target key name already exists.", "NOSCRIPT No matching script", "BUSYGROUP Consumer Group name already exists"])
    func otherErrors(message: String) {
        #expect(StoreError(RedisError.server(message)) == .failed(.server(message)))
    }

    @Test("connection failures are unavailable")
    func connectionFailures() {
        for error in [RedisError.connectionClosed, .commandTimedOut, .unavailable, .connectTimedOut] {
            #expect(StoreError(error) == .unavailable(error))
        }
    }
}
