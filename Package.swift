// swift-tools-version:6.0
// Hallpass: a single-sign-on session hub. See README.md for the map of this package.
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Hallpass",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "HallpassCrypto", targets: ["HallpassCrypto"]),
        .library(name: "HallpassJOSE", targets: ["HallpassJOSE"]),
        .library(name: "HallpassPasswords", targets: ["HallpassPasswords"]),
        .library(name: "HallpassOTP", targets: ["HallpassOTP"]),
        .library(name: "HallpassQR", targets: ["HallpassQR"]),
        .library(name: "HallpassRedis", targets: ["HallpassRedis"]),
        .library(name: "HallpassStore", targets: ["HallpassStore"]),
        .library(name: "HallpassHub", targets: ["HallpassHub"]),
        .library(name: "Hallpass", targets: ["Hallpass"]),
        .library(name: "HallpassHummingbird", targets: ["HallpassHummingbird"]),
        .executable(name: "hallpass-hub", targets: ["hallpass-hub"]),
        .executable(name: "hallpass", targets: ["hallpass"]),
        .executable(name: "hallpass-notes", targets: ["hallpass-notes"]),
        .executable(name: "hallpass-tasks", targets: ["hallpass-tasks"]),
        .executable(name: "hallpass-billing", targets: ["hallpass-billing"]),
        .executable(name: "hallpass-device-demo", targets: ["hallpass-device-demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // C libraries, each wrapped once, by exactly one Swift module.
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CHiredis",
            path: "Sources/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "CArgon2",
            path: "Sources/CArgon2",
            pkgConfig: "libargon2",
            providers: [.apt(["libargon2-dev"])]
        ),
        .systemLibrary(
            name: "CQRencode",
            path: "Sources/CQRencode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),

        // Libraries.
        .target(
            name: "HallpassCrypto",
            dependencies: ["COpenSSL"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "HallpassJOSE",
            dependencies: ["HallpassCrypto"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "HallpassPasswords",
            dependencies: ["CArgon2", "HallpassCrypto"],
            swiftSettings: strictSwift
        ),
        // A second factor: TOTP (RFC 6238) and recovery codes; QR codes for enrolment.
        .target(
            name: "HallpassOTP",
            dependencies: ["HallpassCrypto"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "HallpassQR",
            dependencies: ["CQRencode"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "HallpassRedis",
            dependencies: [
                "CHiredis",
                "HallpassCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "HallpassStore",
            dependencies: [
                "HallpassRedis",
                "HallpassCrypto",
                "HallpassJOSE",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "HallpassHub",
            dependencies: [
                "HallpassStore",
                "HallpassRedis",
                "HallpassCrypto",
                "HallpassJOSE",
                "HallpassPasswords",
                "HallpassOTP",
                "HallpassQR",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The OpenAPI description, compiled in as bytes: the hub serves the committed file
            // itself, with no resource bundle to find at run time.
            resources: [.embedInCode("Resources/openapi.json")],
            swiftSettings: strictSwift
        ),

        // What member apps link: the validator (no web framework) and its Hummingbird middleware.
        .target(
            name: "Hallpass",
            dependencies: [
                "HallpassStore",
                "HallpassRedis",
                "HallpassJOSE",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "HallpassHummingbird",
            dependencies: [
                "Hallpass",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSwift
        ),

        // Executables.
        .executableTarget(
            name: "hallpass-hub",
            dependencies: [
                "HallpassHub",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "hallpass",
            dependencies: [
                "HallpassStore",
                "HallpassRedis",
                "HallpassPasswords",
                "HallpassCrypto",
                "HallpassJOSE",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "ops/hallpass",
            swiftSettings: strictSwift
        ),

        // The sample member apps: one shared library (OIDC relying party, pages, routes), three
        // executables that differ only in their profile.
        .target(
            name: "HallpassSampleApp",
            dependencies: [
                "Hallpass",
                "HallpassRedis",
                "HallpassHummingbird",
                "HallpassJOSE",
                "HallpassCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "apps/SampleAppKit",
            swiftSettings: strictSwift
        ),
        .executableTarget(name: "hallpass-notes", dependencies: ["HallpassSampleApp"], path: "apps/notes", swiftSettings: strictSwift),
        .executableTarget(name: "hallpass-tasks", dependencies: ["HallpassSampleApp"], path: "apps/tasks", swiftSettings: strictSwift),
        .executableTarget(name: "hallpass-billing", dependencies: ["HallpassSampleApp"], path: "apps/billing", swiftSettings: strictSwift),
        // A command-line sample: sign-in on a device without a browser (RFC 8628).
        .executableTarget(
            name: "hallpass-device-demo",
            dependencies: [
                "HallpassJOSE",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "apps/device-demo",
            swiftSettings: strictSwift
        ),

        // Tests.
        .target(
            name: "HallpassTestSupport",
            dependencies: [
                "HallpassCrypto",
                "HallpassRedis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/HallpassTestSupport",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassCryptoTests",
            dependencies: ["HallpassCrypto", "HallpassTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassJOSETests",
            dependencies: ["HallpassJOSE", "HallpassCrypto", "HallpassTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassPasswordsTests",
            dependencies: ["HallpassPasswords", "HallpassTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassOTPTests",
            dependencies: ["HallpassOTP", "HallpassCrypto", "HallpassTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassQRTests",
            dependencies: ["HallpassQR", "HallpassOTP", "HallpassTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassRedisTests",
            dependencies: [
                "HallpassRedis",
                "HallpassTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassStoreTests",
            dependencies: [
                "HallpassStore",
                "HallpassRedis",
                "HallpassCrypto",
                "HallpassJOSE",
                "HallpassTestSupport",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassHubTests",
            dependencies: [
                "HallpassHub",
                "HallpassPasswords",
                "HallpassOTP",
                "HallpassStore",
                "HallpassRedis",
                "HallpassJOSE",
                "HallpassCrypto",
                "HallpassTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassTests",
            dependencies: [
                "Hallpass",
                "HallpassHub",
                "HallpassStore",
                "HallpassRedis",
                "HallpassJOSE",
                "HallpassCrypto",
                "HallpassPasswords",
                "HallpassTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassHummingbirdTests",
            dependencies: [
                "Hallpass",
                "HallpassHummingbird",
                "HallpassStore",
                "HallpassRedis",
                "HallpassJOSE",
                "HallpassCrypto",
                "HallpassTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassCLITests",
            dependencies: [
                "Hallpass",
                "HallpassStore",
                "HallpassCrypto",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                "HallpassJOSE",
                "HallpassRedis",
                "HallpassPasswords",
                "HallpassTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "HallpassSampleAppTests",
            dependencies: [
                "HallpassSampleApp",
                "Hallpass",
                "HallpassOTP",
                "HallpassStore",
                "HallpassRedis",
                "HallpassJOSE",
                "HallpassCrypto",
                "HallpassTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
    ]
)
