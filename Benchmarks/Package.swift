// swift-tools-version:6.0
// Benchmarks live in their own package so that the main package's normal builds stay lean.
// Run them with ops/bench (release build, throwaway Redis).
import PackageDescription

let package = Package(
    name: "HallpassBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Hallpass", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Only for the framework's floor in ops/bench hub: a bare Hummingbird app beside the hub.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // Only for comparison: the validator's cold and hot paths beside jwt-kit's verify.
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
    ],
    targets: [
        // The baseline: OpenSSL called from plain C, the way `openssl speed` would, so the
        // figure Hallpass is compared with has no Swift in it.
        .target(
            name: "OpenSSLBaseline",
            path: "Sources/OpenSSLBaseline",
            linkerSettings: [.linkedLibrary("crypto")]
        ),
        .executableTarget(
            name: "hallpass-bench",
            dependencies: [
                "OpenSSLBaseline",
                .product(name: "HallpassCrypto", package: "Hallpass"),
                .product(name: "HallpassJOSE", package: "Hallpass"),
                .product(name: "HallpassRedis", package: "Hallpass"),
                .product(name: "HallpassStore", package: "Hallpass"),
                .product(name: "HallpassPasswords", package: "Hallpass"),
                .product(name: "Hallpass", package: "Hallpass"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/hallpass-bench"
        ),
    ]
)
