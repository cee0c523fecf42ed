// swift-tools-version:6.0
// Hallpass fuzz targets (libFuzzer). A package of its own so that the root package's builds and
// tests never compile the sanitizer runtime: `ops/fuzz` builds this with
// `-sanitize=fuzzer,address` and runs the targets. See docs/FUZZING.md.
import PackageDescription

// Each target is an executable whose main.swift hands its test function to libFuzzer's driver
// (`LLVMFuzzerRunDriver`). libFuzzer's own `main` cannot be used: on Linux SwiftPM links every
// executable with `main` aliased to the module's generated entry point, which then must exist.
func fuzz(_ name: String, _ dependencies: [Target.Dependency], swiftSettings: [SwiftSetting] = []) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, swiftSettings: swiftSettings)
}

// hiredis, through the root package's own module map and header (links in Modules/CHiredis):
// the root's `CHiredis` target is no product, and a target of the same name here is refused
// (names must be unique across the package graph), so the module is found by `-I`, by the
// shim and by whatever imports the shim.
let hiredis = [SwiftSetting.unsafeFlags(["-I", Context.packageDirectory + "/Modules/CHiredis"])]

let jose = Target.Dependency.product(name: "HallpassJOSE", package: "Hallpass")
let crypto = Target.Dependency.product(name: "HallpassCrypto", package: "Hallpass")

let package = Package(
    name: "HallpassFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Hallpass", path: ".."),
        // The version the root package asks for; resolved to the same checkout.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        .target(name: "CFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzer", jose, crypto]),
        // LogoutTokenVerifier.swift, compiled from its one source (a symlink) into a module of
        // its own: it needs only HallpassJOSE, while its home module `Hallpass` pulls in the
        // store, Redis and SwiftNIO, which would more than double the sanitized build.
        .target(name: "LogoutShim", dependencies: [jose]),
        // The same for the hub's form-body parser (FormBody.swift needs only HallpassCrypto;
        // HallpassHub needs Hummingbird and the rest of the server).
        .target(name: "FormShim", dependencies: [crypto]),
        // The hub's header parsers (`Authorization: Basic`, `Cookie`), which HallpassHub keeps in
        // files of their own for this.
        .target(name: "HeaderShim", dependencies: [crypto]),
        // Authorization-request checks and redirect-URI matching, with the files they use
        // (FormBody, Scopes, PKCE, OAuthError); HTTPTypes only for OAuthError's status.
        .target(name: "AuthorizeShim", dependencies: [crypto, jose, .product(name: "HTTPTypes", package: "swift-http-types")]),
        // RESPReader.swift and RedisValue.swift; RedisError is a stub (see RedisErrorStub.swift),
        // so the hiredis reader is fuzzed without SwiftNIO in the build.
        .target(name: "RESPShim", swiftSettings: hiredis, linkerSettings: [.linkedLibrary("hiredis")]),
        fuzz("json", [jose]),
        fuzz("jwt-differential", [jose, crypto]),
        fuzz("access-claims", [jose]),
        fuzz("logout-token", [jose, crypto, "LogoutShim"]),
        fuzz("base64url", [jose, crypto]),
        fuzz("base32", [crypto]),
        fuzz("percent", [crypto]),
        fuzz("form", [crypto, "FormShim"]),
        fuzz("phc", [.product(name: "HallpassPasswords", package: "Hallpass")]),
        fuzz("basic-credentials", [crypto, "HeaderShim"]),
        fuzz("cookies", ["HeaderShim"]),
        fuzz("resp", ["RESPShim"], swiftSettings: hiredis),
        fuzz("redirect-uri", [crypto, "AuthorizeShim"]),
    ]
)
