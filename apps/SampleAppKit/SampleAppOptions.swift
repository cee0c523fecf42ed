public import ArgumentParser
import Foundation
import HallpassRedis

/// The command line of a sample app (CONTRACT section 2). Every flag has an environment
/// variable; the flag wins.
public struct SampleAppOptions: ParsableArguments, Sendable {
    @Option(help: "Address to listen on (env HALLPASS_HOST; default 127.0.0.1).")
    public var host: String?

    @Option(help: "Port to listen on (env HALLPASS_APP_PORT; default: the app's own, 8401/8402/8403).")
    public var port: Int?

    @Option(help: "The hub's base URL (env HALLPASS_HUB_URL; default http://127.0.0.1:8400).")
    public var hub: String?

    @Option(name: .customLong("client-id"), help: "This app's OAuth client id (env HALLPASS_CLIENT_ID; default: the app's name).")
    public var clientID: String?

    @Option(
        name: .customLong("client-secret"),
        help: "This app's client secret (env HALLPASS_CLIENT_SECRET; prefer the environment: a flag shows in ps).")
    public var clientSecret: String?

    @Option(help: "Redis URL for the validator, as the read-only validator user; rediss:// for TLS (env HALLPASS_REDIS_URL).")
    public var redis: String?

    @Option(
        name: .customLong("redis-ca-file"),
        help: "CA certificates (PEM) that a rediss:// server's certificate must chain to (env HALLPASS_REDIS_CA_FILE; default the system's).")
    public var redisCAFile: String?

    @Option(
        name: .customLong("redis-cert-file"),
        help: "Client certificate (PEM) for a Redis that requires one (env HALLPASS_REDIS_CERT_FILE; needs --redis-key-file).")
    public var redisCertificateFile: String?

    @Option(name: .customLong("redis-key-file"), help: "Private key (PEM) of --redis-cert-file (env HALLPASS_REDIS_KEY_FILE).")
    public var redisKeyFile: String?

    @Option(
        name: .customLong("public-url"),
        help: "The URL browsers reach this app at (env HALLPASS_APP_URL; default http://HOST:PORT).")
    public var publicURL: String?

    @Option(
        name: .customLong("peer"),
        help: ArgumentHelp(
            "Another app to link to, as NAME=URL (repeatable; env HALLPASS_PEER_URLS, comma-separated; default: the other two apps on their default ports).",
            valueName: "name=url"))
    public var peers: [String] = []

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error (env HALLPASS_LOG_LEVEL; default info).")
    public var logLevel: String?

    public init() {}
}

/// The settings of a sample app once flags, environment and defaults are resolved.
public struct SampleAppSettings: Sendable {
    /// The app.
    public var profile: AppProfile
    /// Listen address.
    public var host: String
    /// Listen port (0: the system picks one; the public URL then needs setting).
    public var port: Int
    /// The hub's base URL (discovery is at `/.well-known/openid-configuration` below it).
    public var hubURL: String
    /// The OAuth client id.
    public var clientID: String
    /// The client secret (confidential client).
    public var clientSecret: String
    /// The validator's Redis URL.
    public var redisURL: String
    /// The validator's Redis TLS files (`nil`: not given) and the Sentinels' password.
    public var redisCAFile: String?
    /// See ``redisCAFile``.
    public var redisCertificateFile: String?
    /// See ``redisCAFile``.
    public var redisKeyFile: String?
    /// `HALLPASS_REDIS_SENTINEL_PASSWORD`.
    public var redisSentinelPassword: String?
    /// Where browsers reach this app: redirect URIs are built from it.
    public var publicURL: String
    /// The other apps to link to: (title, URL).
    public var peers: [(name: String, url: String)]
    /// The log level.
    public var logLevel: String

    /// Why settings could not be resolved.
    public struct Problem: Error, CustomStringConvertible {
        /// What is wrong, for the user.
        public let description: String
    }

    /// Resolves `options` for `profile`: the flag, else the environment variable (from
    /// `environment`, else the process's), else the default.
    public init(profile: AppProfile, options: SampleAppOptions, environment: [String: String]? = nil) throws {
        let environment = environment ?? ProcessInfo.processInfo.environment
        func pick(_ flag: String?, _ variable: String, _ fallback: String) -> String {
            if let flag, !flag.isEmpty { return flag }
            if let value = environment[variable], !value.isEmpty { return value }
            return fallback
        }
        self.profile = profile
        host = pick(options.host, "HALLPASS_HOST", "127.0.0.1")
        let portText = pick(options.port.map(String.init), "HALLPASS_APP_PORT", String(profile.defaultPort))
        guard let port = Int(portText), (0...65535).contains(port) else { throw Problem(description: "--port: not a port: \(portText)") }
        self.port = port
        hubURL = Self.trimmed(pick(options.hub, "HALLPASS_HUB_URL", "http://127.0.0.1:8400"))
        clientID = pick(options.clientID, "HALLPASS_CLIENT_ID", profile.name)
        clientSecret = pick(options.clientSecret, "HALLPASS_CLIENT_SECRET", "")
        guard !clientSecret.isEmpty else {
            throw Problem(description: "no client secret: set HALLPASS_CLIENT_SECRET (ops/run does) or --client-secret")
        }
        redisURL = pick(options.redis, "HALLPASS_REDIS_URL", "redis://127.0.0.1:6379/0")
        func optional(_ flag: String?, _ variable: String) -> String? {
            let value = pick(flag, variable, "")
            return value.isEmpty ? nil : value
        }
        redisCAFile = optional(options.redisCAFile, "HALLPASS_REDIS_CA_FILE")
        redisCertificateFile = optional(options.redisCertificateFile, "HALLPASS_REDIS_CERT_FILE")
        redisKeyFile = optional(options.redisKeyFile, "HALLPASS_REDIS_KEY_FILE")
        redisSentinelPassword = optional(nil, "HALLPASS_REDIS_SENTINEL_PASSWORD")
        // Checked now, at start, rather than once the hub answers: a bad file is a usage error.
        do throws(RedisError) {
            _ = try RedisConfiguration(
                url: redisURL, caFile: redisCAFile, certificateFile: redisCertificateFile, keyFile: redisKeyFile,
                sentinelPassword: redisSentinelPassword)
        } catch .invalidTLSSetting(let setting, let detail) {
            throw Problem(description: "\(setting.optionName): \(detail)")
        } catch {
            throw Problem(description: "--redis: \(error)")
        }
        var connectHost = host
        if ["0.0.0.0", "::", "[::]"].contains(host) { connectHost = "127.0.0.1" }
        if connectHost.contains(":") && !connectHost.hasPrefix("[") { connectHost = "[\(connectHost)]" }
        publicURL = Self.trimmed(pick(options.publicURL, "HALLPASS_APP_URL", "http://\(connectHost):\(port)"))
        guard publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://") else {
            throw Problem(description: "--public-url must be an http(s) URL")
        }
        var peerTexts = options.peers
        if peerTexts.isEmpty, let variable = environment["HALLPASS_PEER_URLS"], !variable.isEmpty {
            peerTexts = variable.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        }
        if peerTexts.isEmpty {
            peers = AppProfile.all.filter { $0.name != profile.name }.map { ($0.name, "http://127.0.0.1:\($0.defaultPort)") }
        } else {
            peers = try peerTexts.map { text in
                guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                    throw Problem(description: "--peer: expected NAME=URL, got \(text)")
                }
                let url = Self.trimmed(String(text[text.index(after: equals)...]))
                guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw Problem(description: "--peer: not an http(s) URL: \(url)")
                }
                return (String(text[..<equals]), url)
            }
        }
        logLevel = pick(options.logLevel, "HALLPASS_LOG_LEVEL", "info")
    }

    /// `url` without trailing slashes.
    static func trimmed(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    /// The redirect URI this app registers and uses.
    public var redirectURI: String { publicURL + "/callback" }
    /// The post-logout redirect URI this app registers and uses.
    public var postLogoutRedirectURI: String { publicURL + "/signed-out" }
    /// The back-channel logout URI this app registers.
    public var backchannelLogoutURI: String { publicURL + "/backchannel-logout" }
}
