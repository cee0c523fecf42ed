// swift-tools-version:6.0
// Hallpass: a single-sign-on session hub. See README.md for the map of this package.
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Hallpass",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "HallpassCrypto", targets: ["HallpassCrypto"]),
        .library(name: "HallpassJOSE", targets: ["HallpassJOSE"]),
        .library(name: "HallpassPasswords", targets: ["HallpassPasswords"]),
        .library(name: "HallpassRedis", targets: ["HallpassRedis"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
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
        .target(
            name: "HallpassRedis",
            dependencies: [
                "CHiredis",
                "HallpassCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),

        // Tests.
        .target(
            name: "HallpassTestSupport",
            dependencies: ["HallpassCrypto"],
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
    ]
)
