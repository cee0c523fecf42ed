// swift-tools-version:6.0
// Hallpass fuzz targets (libFuzzer). A package of its own so that the root package's builds and
// tests never compile the sanitizer runtime: `ops/fuzz` builds this with
// `-sanitize=fuzzer,address` and runs the targets. See docs/FUZZING.md.
import PackageDescription

// Each target is an executable whose main.swift hands its test function to libFuzzer's driver
// (`LLVMFuzzerRunDriver`). libFuzzer's own `main` cannot be used: on Linux SwiftPM links every
// executable with `main` aliased to the module's generated entry point, which then must exist.
func fuzz(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies)
}

let jose = Target.Dependency.product(name: "HallpassJOSE", package: "Hallpass")
let crypto = Target.Dependency.product(name: "HallpassCrypto", package: "Hallpass")

let package = Package(
    name: "HallpassFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Hallpass", path: "..")],
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
        fuzz("json", [jose]),
        fuzz("jwt-differential", [jose, crypto]),
        fuzz("access-claims", [jose]),
        fuzz("logout-token", [jose, crypto, "LogoutShim"]),
        fuzz("base64url", [jose, crypto]),
        fuzz("base32", [crypto]),
        fuzz("percent", [crypto]),
        fuzz("form", [crypto, "FormShim"]),
        fuzz("phc", [.product(name: "HallpassPasswords", package: "Hallpass")]),
    ]
)
