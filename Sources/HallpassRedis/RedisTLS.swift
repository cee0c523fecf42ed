import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The TLS side of a client's connections: one swift-nio-ssl context, built once per client
/// from its ``RedisTLSConfiguration`` (the only time certificate files are read), and the
/// handlers that put it at the front of each connection's pipeline and say why a handshake
/// failed.
final class RedisTLS: Sendable {
    /// Verifies the server's chain and name (`.fullVerification`); carries the client certificate.
    let context: NIOSSLContext
    /// Used only after a chain verification failed, to tell an expired certificate from an
    /// untrusted one: BoringSSL reports both as `CERTIFICATE_VERIFY_FAILED`. Its callback refuses
    /// every certificate, so it can never complete a handshake.
    private let diagnosticContext: NIOSSLContext
    /// The SNI name and the name checked against the certificate; `nil` for an IP address,
    /// which cannot be sent as SNI and is checked against the certificate's IP entries instead.
    let serverHostname: String?
    /// What the certificate must match, for messages.
    let expectedName: String
    /// Whether the name comes from ``RedisTLSConfiguration/serverName`` rather than the host,
    /// and so stays the same for every node of a cluster.
    private let nameIsFixed: Bool

    /// The same contexts for connections to another host: a Redis Cluster's nodes each get
    /// their own name checked, and no certificate file is read again (that would block).
    func retargeted(to host: String) -> RedisTLS {
        guard !self.nameIsFixed, host != self.expectedName else { return self }
        return RedisTLS(
            context: self.context, diagnosticContext: self.diagnosticContext, name: host, nameIsFixed: false)
    }

    private init(context: NIOSSLContext, diagnosticContext: NIOSSLContext, name: String, nameIsFixed: Bool) {
        self.context = context
        self.diagnosticContext = diagnosticContext
        self.expectedName = name
        let isIPAddress = (try? SocketAddress(ipAddress: name, port: 0)) != nil
        self.serverHostname = isIPAddress ? nil : name
        self.nameIsFixed = nameIsFixed
    }

    /// Reads the files of `configuration` and builds the contexts for connections to `host`.
    ///
    /// - Throws: ``RedisError/invalidTLSSetting(_:_:)`` naming the setting at fault.
    init(configuration: RedisTLSConfiguration, host: String) throws(RedisError) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        if let caFile = configuration.caFile {
            tls.trustRoots = .certificates(try Self.certificates(at: caFile, setting: .caFile))
        }
        switch (configuration.certificateFile, configuration.keyFile) {
        case (nil, nil):
            break
        case (.some, nil):
            throw .invalidTLSSetting(.keyFile, "missing: --redis-cert-file needs --redis-key-file")
        case (nil, .some):
            throw .invalidTLSSetting(.certificateFile, "missing: --redis-key-file needs --redis-cert-file")
        case (.some(let certificateFile), .some(let keyFile)):
            let chain = try Self.certificates(at: certificateFile, setting: .certificateFile)
            try Self.checkReadable(keyFile, setting: .keyFile)
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            } catch {
                // Never the key's bytes or the library's dump of them: the path only.
                throw .invalidTLSSetting(.keyFile, "\(keyFile) holds no PEM private key")
            }
            tls.certificateChain = chain.map { .certificate($0) }
            tls.privateKey = .privateKey(key)
        }
        do {
            self.context = try NIOSSLContext(configuration: tls)
        } catch {
            if configuration.certificateFile != nil {
                throw .invalidTLSSetting(.keyFile, "the key does not match the certificate in --redis-cert-file (\(error))")
            }
            throw .invalidTLSSetting(.caFile, "cannot build a TLS context: \(error)")
        }

        var diagnostic = TLSConfiguration.makeClientConfiguration()
        diagnostic.certificateVerification = .noHostnameVerification
        // The diagnostic callback replaces chain verification, so no roots need loading.
        diagnostic.trustRoots = .certificates([])
        do {
            self.diagnosticContext = try NIOSSLContext(configuration: diagnostic)
        } catch {
            throw .invalidTLSSetting(.caFile, "cannot build a TLS context: \(error)")
        }

        let name = configuration.serverName ?? host
        self.expectedName = name
        self.nameIsFixed = configuration.serverName != nil
        let isIPAddress = (try? SocketAddress(ipAddress: name, port: 0)) != nil
        self.serverHostname = isIPAddress ? nil : name
    }

    private static func checkReadable(_ path: String, setting: RedisTLSConfiguration.Setting) throws(RedisError) {
        guard access(path, R_OK) == 0 else {
            throw .invalidTLSSetting(setting, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
    }

    private static func certificates(
        at path: String,
        setting: RedisTLSConfiguration.Setting
    ) throws(RedisError) -> [NIOSSLCertificate] {
        try Self.checkReadable(path, setting: setting)
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw .invalidTLSSetting(setting, "\(path) holds no PEM certificate")
        }
        guard !certificates.isEmpty else {
            throw .invalidTLSSetting(setting, "\(path) holds no PEM certificate")
        }
        return certificates
    }

    // MARK: Pipeline

    /// Adds the TLS handlers at the front of a new connection's pipeline; returns a future that
    /// succeeds once the handshake completed, or fails with a ``TLSHandshakeFailure`` (or
    /// ``RedisError/connectTimedOut`` at `deadline`). Runs on the channel's event loop.
    func addHandlers(to channel: any Channel, deadline: NIODeadline) throws -> EventLoopFuture<Void> {
        let probe = TLSPlaintextProbe()
        let watcher = TLSHandshakeWatcher(probe: probe, promise: channel.eventLoop.makePromise(), deadline: deadline)
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(probe)
        try operations.addHandler(NIOSSLClientHandler(context: self.context, serverHostname: self.serverHostname))
        try operations.addHandler(watcher)
        return watcher.future
    }

    // MARK: Why a handshake failed

    /// The reason to report for `failure`, asking the server once more (without verification,
    /// and without ever completing that handshake) when only the certificate's dates can tell.
    func reason(
        for failure: TLSHandshakeFailure,
        host: String,
        port: Int,
        eventLoop: any EventLoop,
        deadline: NIODeadline
    ) async -> RedisTLSFailure {
        switch Self.classify(failure.underlying, sawPlaintext: failure.sawPlaintext, expectedName: self.expectedName) {
        case .known(let reason):
            return reason
        case .verificationFailed:
            return await self.diagnoseVerificationFailure(host: host, port: port, eventLoop: eventLoop, deadline: deadline)
        }
    }

    enum Classification: Equatable {
        case known(RedisTLSFailure)
        /// The chain did not verify: untrusted, expired or not yet valid.
        case verificationFailed
    }

    /// What a TLS error says, as far as it can be told from the error alone.
    static func classify(_ error: any Error, sawPlaintext: Bool, expectedName: String) -> Classification {
        if sawPlaintext {
            return .known(.notTLS)
        }
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return .known(.hostnameMismatch(expected: expectedName))
        }
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return .verificationFailed
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") || text.contains("PACKET_LENGTH_TOO_LONG") {
            return .known(.notTLS)
        }
        if let alert = Self.alertName(in: text) {
            return .known(.rejectedByServer(alert))
        }
        if let sslError = error as? NIOSSLError {
            switch sslError {
            case .uncleanShutdown: return .known(.closedDuringHandshake)
            default: break
            }
        }
        if text.contains("EOF during handshake") || error as? ChannelError == .eof || error as? ChannelError == .ioOnClosedChannel {
            return .known(.closedDuringHandshake)
        }
        return .known(.other(text))
    }

    /// The reason to report for an error TLS raised once the handshake was done (a TLS 1.3
    /// server refusing the client certificate after the client's last handshake message), or
    /// `nil` for an error that is not TLS's own.
    static func failureAfterHandshake(_ error: any Error) -> RedisTLSFailure? {
        guard error is NIOSSLError || error is BoringSSLError else { return nil }
        guard case .known(let reason) = Self.classify(error, sawPlaintext: false, expectedName: "") else { return nil }
        return reason
    }

    /// "certificate required" for a BoringSSL reason such as `TLSV1_ALERT_CERTIFICATE_REQUIRED`.
    private static func alertName(in text: String) -> String? {
        for marker in ["TLSV1_ALERT_", "SSLV3_ALERT_"] {
            // Foundation-free substring search: this module does not import Foundation.
            let characters = Array(text)
            let pattern = Array(marker)
            guard characters.count >= pattern.count else { continue }
            for start in 0...(characters.count - pattern.count) where characters[start..<(start + pattern.count)].elementsEqual(pattern) {
                let name = characters[(start + pattern.count)...].prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
                return "alert: " + String(String(name).lowercased().map { $0 == "_" ? " " : $0 })
            }
        }
        return nil
    }

    /// Connects once more and looks at the server's certificate before refusing it: expired,
    /// not yet valid, or else (its dates are fine, so its issuer is the problem) untrusted.
    private func diagnoseVerificationFailure(
        host: String,
        port: Int,
        eventLoop: any EventLoop,
        deadline: NIODeadline
    ) async -> RedisTLSFailure {
        let leaf = NIOLockedValueBox<NIOSSLCertificate?>(nil)
        let context = self.diagnosticContext
        let serverHostname = self.serverHostname
        do {
            let channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(max(deadline - .now(), .milliseconds(1)))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = try NIOSSLClientHandler(
                            context: context, serverHostname: serverHostname,
                            customVerificationCallback: { certificates, promise in
                                leaf.withLockedValue { $0 = certificates.first }
                                promise.succeed(.failed)
                            })
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: host, port: port)
                .get()
            // The refused handshake closes the channel; a server that stays silent is cut off.
            let cutOff = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
            try? await channel.closeFuture.get()
            cutOff.cancel()
        } catch {
            return .other("certificate verification failed")
        }
        guard let certificate = leaf.withLockedValue({ $0 }) else {
            return .other("certificate verification failed")
        }
        let now = time(nil)
        if now > certificate.notValidAfter { return .expiredCertificate }
        if now < certificate.notValidBefore { return .certificateNotYetValid }
        return .untrustedCertificate
    }
}
