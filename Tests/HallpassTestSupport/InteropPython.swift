public import Foundation

/// The Python that runs the interop checks against code nobody here wrote (PyJWT, argon2-cffi).
///
/// `ops/test` builds a virtual environment with those packages and sets `HALLPASS_PYTHON`.
/// Without it the interop tests fail with this message rather than pass by skipping.
public enum InteropPython {
    public struct NotConfigured: Error, CustomStringConvertible {
        public var description: String {
            "HALLPASS_PYTHON is not set: run the tests with ops/test, which creates the interop venv "
                + "(PyJWT, argon2-cffi) and points HALLPASS_PYTHON at it"
        }
    }

    /// The interpreter from `HALLPASS_PYTHON`.
    public static func executable() throws -> URL {
        guard let path = ProcessInfo.processInfo.environment["HALLPASS_PYTHON"], !path.isEmpty else {
            throw NotConfigured()
        }
        return URL(fileURLWithPath: path)
    }

    /// A script in `Tests/interop/`.
    public static func script(_ name: String, file: StaticString = #filePath) -> URL {
        // This file is Tests/HallpassTestSupport/InteropPython.swift.
        URL(fileURLWithPath: "\(file)")
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("interop")
            .appendingPathComponent(name)
    }
}
