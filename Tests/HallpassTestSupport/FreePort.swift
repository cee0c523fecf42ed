#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors from the test support helpers.
public enum TestSupportError: Error, CustomStringConvertible {
    case noFreePort(errno: Int32)
    case executableNotFound(String)
    case serverDidNotStart(String)

    public var description: String {
        switch self {
        case .noFreePort(let code): "could not find a free loopback port (errno \(code))"
        case .executableNotFound(let name): "\(name) is not on PATH; run the tests through ops/test, which installs it"
        case .serverDidNotStart(let detail): "server did not start: \(detail)"
        }
    }
}

/// Asks the kernel for a free TCP port on 127.0.0.1 by binding port 0 and reading back what it chose.
///
/// The socket is closed before the port is returned, so another process could take it in between;
/// callers that start a server on it retry on a bind failure.
public func freeLoopbackPort() throws -> Int {
    let fd = tcpSocket()
    guard fd >= 0 else { throw TestSupportError.noFreePort(errno: errno) }
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    guard withSocketAddress(&address, { bind(fd, $0, $1) }) == 0 else { throw TestSupportError.noFreePort(errno: errno) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw TestSupportError.noFreePort(errno: errno) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Binds a socket to 127.0.0.1 at `port` without listening, and returns it (or `nil` if the
/// port is taken). Connections to the port are then refused, as to a stopped server, but the
/// kernel gives the port to nobody else, neither to a `bind` to port 0 nor as the source port
/// of an outgoing connection, until the socket is closed: it keeps a stopped server's port for
/// its restart.
func reserveLoopbackPort(_ port: Int) -> Int32? {
    let fd = tcpSocket()
    guard fd >= 0 else { return nil }
    // The stopped server's connections may linger in TIME_WAIT on this port.
    var yes: Int32 = 1
    _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = loopbackAddress(port: port)
    guard withSocketAddress(&address, { bind(fd, $0, $1) }) == 0 else {
        close(fd)
        return nil
    }
    return fd
}

/// Whether something accepts TCP connections on 127.0.0.1 at `port` right now.
public func isAcceptingConnections(port: Int) -> Bool {
    let fd = tcpSocket()
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = loopbackAddress(port: port)
    return withSocketAddress(&address) { connect(fd, $0, $1) } == 0
}

private func tcpSocket() -> Int32 {
    #if canImport(Glibc)
    socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    socket(AF_INET, SOCK_STREAM, 0)
    #endif
}

private func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

private func withSocketAddress(
    _ address: inout sockaddr_in,
    _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32
) -> Int32 {
    withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}
