public import Foundation

/// A throwaway PKI for TLS tests, made with the `openssl` command line in a directory of its own:
/// a CA, server certificates signed by it (valid for 127.0.0.1 and localhost, expired, for
/// another host name), a client certificate, and a second CA that signed none of them.
///
/// Keys are P-256: quick to make, and accepted by Redis and swift-nio-ssl alike.
public struct TestCertificates: Sendable {
    /// Where the files are.
    public let directory: URL

    /// The CA that signed every certificate below.
    public var caFile: String { path("ca.crt") }
    /// A CA that signed none of them: trusting only it must fail.
    public var otherCAFile: String { path("other-ca.crt") }
    /// Server certificate and key for IP 127.0.0.1 and DNS localhost.
    public var serverCertificateFile: String { path("server.crt") }
    public var serverKeyFile: String { path("server.key") }
    /// The same key, certified for 127.0.0.1 and localhost from 1 to 2 January 2020 only.
    public var expiredServerCertificateFile: String { path("expired.crt") }
    /// The same key, certified for redis.example.com only.
    public var otherHostCertificateFile: String { path("other-host.crt") }
    /// A client certificate (extended key usage clientAuth) and its key.
    public var clientCertificateFile: String { path("client.crt") }
    public var clientKeyFile: String { path("client.key") }

    /// Makes the whole set (a few hundred milliseconds of `openssl` runs, off the cooperative pool).
    public static func make() async throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hallpass-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        try await certificates.generate()
        return certificates
    }

    /// Removes the files.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    private func generate() async throws {
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try await openssl(["req", "-x509"] + ec + ["-keyout", path("ca.key"), "-out", caFile, "-days", "30", "-subj", "/CN=Hallpass Test CA"])
        try await openssl(
            ["req", "-x509"] + ec + ["-keyout", path("other-ca.key"), "-out", otherCAFile, "-days", "30", "-subj", "/CN=Some Other CA"])

        try write("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try write("other-host.ext", "subjectAltName=DNS:redis.example.com\nextendedKeyUsage=serverAuth\n")
        try write("client.ext", "extendedKeyUsage=clientAuth\n")
        try await openssl(["req"] + ec + ["-keyout", serverKeyFile, "-out", path("server.csr"), "-subj", "/CN=127.0.0.1"])
        try await openssl(["req"] + ec + ["-keyout", clientKeyFile, "-out", path("client.csr"), "-subj", "/CN=hallpass-client"])
        try await sign("server.csr", into: serverCertificateFile, extensions: "server.ext", serial: 2)
        try await sign("server.csr", into: otherHostCertificateFile, extensions: "other-host.ext", serial: 3)
        try await sign("client.csr", into: clientCertificateFile, extensions: "client.ext", serial: 4)

        // OpenSSL 3.0's `x509 -req` has no -not_before/-not_after; `openssl ca` takes explicit
        // dates, and needs a little database to do it.
        try write("index.txt", "")
        try write("serial", "1000\n")
        try write(
            "ca.cnf",
            """
            [ ca ]
            default_ca = test
            [ test ]
            database = \(path("index.txt"))
            new_certs_dir = \(directory.path)
            serial = \(path("serial"))
            default_md = sha256
            policy = any
            unique_subject = no
            certificate = \(caFile)
            private_key = \(path("ca.key"))
            [ any ]
            commonName = supplied

            """)
        try await openssl([
            "ca", "-batch", "-config", path("ca.cnf"), "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
            "-in", path("server.csr"), "-out", expiredServerCertificateFile, "-extfile", path("server.ext"), "-notext",
        ])
    }

    private func sign(_ request: String, into output: String, extensions: String, serial: Int) async throws {
        try await openssl([
            "x509", "-req", "-in", path(request), "-CA", caFile, "-CAkey", path("ca.key"), "-set_serial", "\(serial)",
            "-out", output, "-days", "30", "-extfile", path(extensions),
        ])
    }

    private func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    private func openssl(_ arguments: [String]) async throws {
        let result = try await runProcess(try findExecutable("openssl"), arguments)
        guard result.status == 0 else {
            throw TestSupportErrorBox(description: "openssl \(arguments.first ?? "") failed: \(result.standardError)")
        }
    }
}
