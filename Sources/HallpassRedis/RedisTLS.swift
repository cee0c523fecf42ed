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

/// A failed handshake: the error NIO reported, and whether the server had answered in plaintext.
struct TLSHandshakeFailure: Error {
    let underlying: any Error
    let sawPlaintext: Bool
}

/// Looks at the first byte the server sends, before TLS does: a TLS server's first record is a
/// handshake or an alert (content types 20...23), while a plaintext Redis answers with a RESP
/// reply (`-ERR ...`). That tells "not TLS at all" apart from a broken TLS server for sure.
final class TLSPlaintextProbe: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The server's first bytes were not a TLS record.
    struct PlaintextReply: Error {}

    private(set) var sawPlaintext = false
    private(set) var sawAnyBytes = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = self.unwrapInboundIn(data)
        guard let first = buffer.readableBytesView.first else {
            context.fireChannelRead(data)
            return
        }
        self.sawAnyBytes = true
        self.sawPlaintext = !(20...23).contains(first)
        if self.sawPlaintext {
            // TLS would take "-ERR" for a record header announcing 20 KB and wait for them; a
            // plaintext Redis answers a ClientHello with an error reply and keeps the connection
            // open, so the handshake would only end at the connect timeout.
            context.fireErrorCaught(PlaintextReply())
            context.close(promise: nil)
            return
        }
        // Passed on before leaving: once removed, this context forwards nothing.
        context.fireChannelRead(data)
        // One byte decides; later reads need not pass through here.
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// Completes a promise when the TLS handshake does, fails it when the handshake fails or takes
/// past the connect deadline, then leaves the pipeline.
final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let probe: TLSPlaintextProbe
    private let promise: EventLoopPromise<Void>
    private let deadline: NIODeadline
    private var timeout: Scheduled<Void>?
    private var silenceCheck: Scheduled<Void>?
    private var isDone = false

    /// How long a server may stay silent after the ClientHello before a plaintext `PING` on a
    /// second connection asks whether it is a plaintext Redis: one waits for the end of a line
    /// that a ClientHello seldom contains, and would otherwise hold the handshake until the
    /// connect timeout.
    static let silenceBeforePlaintextCheck = TimeAmount.milliseconds(300)

    var future: EventLoopFuture<Void> { self.promise.futureResult }

    init(probe: TLSPlaintextProbe, promise: EventLoopPromise<Void>, deadline: NIODeadline) {
        self.probe = probe
        self.promise = promise
        self.deadline = deadline
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let promise = self.promise
        let channel = context.channel
        self.timeout = context.eventLoop.scheduleTask(deadline: self.deadline) {
            promise.fail(RedisError.connectTimedOut)
            channel.close(promise: nil)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        let checkAt = min(NIODeadline.now() + Self.silenceBeforePlaintextCheck, self.deadline)
        self.silenceCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: checkAt) {
            self.checkSilence(context: context)
        }
        context.fireChannelActive()
    }

    private func checkSilence(context: ChannelHandlerContext) {
        guard !self.isDone, !self.probe.sawAnyBytes, let address = context.channel.remoteAddress else { return }
        TLSPlaintextProbe.answersPlaintextPing(at: address, on: context.eventLoop, deadline: self.deadline)
            .assumeIsolated()
            .whenSuccess { isPlaintext in
                guard isPlaintext, !self.isDone else { return }
                self.finish(.failure(TLSHandshakeFailure(underlying: TLSPlaintextProbe.PlaintextReply(), sawPlaintext: true)))
                context.close(promise: nil)
            }
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !self.isDone else { return }
        self.isDone = true
        self.timeout?.cancel()
        self.silenceCheck?.cancel()
        self.promise.completeWith(result)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Only a removal before the handshake ended gets here undone; no one may wait forever.
        self.finish(.failure(TLSHandshakeFailure(underlying: ChannelError.ioOnClosedChannel, sawPlaintext: self.probe.sawPlaintext)))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            self.finish(.success(()))
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.finish(.failure(TLSHandshakeFailure(underlying: error, sawPlaintext: self.probe.sawPlaintext)))
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.finish(.failure(TLSHandshakeFailure(underlying: ChannelError.eof, sawPlaintext: self.probe.sawPlaintext)))
        context.fireChannelInactive()
    }
}

extension TLSPlaintextProbe {
    /// Whether the server at `address` answers a plaintext `PING` with a RESP reply (`+PONG`,
    /// `-NOAUTH ...`): then it is a plaintext Redis. Sends nothing secret; false on any doubt.
    static func answersPlaintextPing(
        at address: SocketAddress,
        on eventLoop: any EventLoop,
        deadline: NIODeadline
    ) -> EventLoopFuture<Bool> {
        let answer = eventLoop.makePromise(of: Bool.self)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(max(deadline - .now(), .milliseconds(1)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(PlaintextPing(answer: answer))
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case .failure:
                    answer.succeed(false)
                case .success(let channel):
                    let cutOff = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
                    channel.closeFuture.whenComplete { _ in
                        cutOff.cancel()
                        answer.succeed(false)
                    }
                }
            }
        return answer.futureResult
    }

    /// Sends `PING` and reports whether the first byte back starts a RESP reply.
    private final class PlaintextPing: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private let answer: EventLoopPromise<Bool>

        init(answer: EventLoopPromise<Bool>) {
            self.answer = answer
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: "PING\r\n")), promise: nil)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = self.unwrapInboundIn(data)
            if let first = buffer.readableBytesView.first {
                self.answer.succeed(Array("+-:$*".utf8).contains(first))
                context.close(promise: nil)
            }
        }
    }
}
