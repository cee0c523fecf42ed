import ArgumentParser

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// `hallpass`: the ops CLI. Exit codes (CONTRACT section 3): 0 on success, 1 when an action is
// refused or fails (one line on stderr saying why), 2 on bad usage.
//
// ArgumentParser's own `main()` exits 64 (EX_USAGE) on a usage error, so the entry point is
// written out here to map that to 2.

extension Hallpass {
    static func execute() async -> Int32 {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            return 0
        } catch let failure as CLIFailure {
            Console.error(failure.reason)
            return 1
        } catch {
            return report(error)
        }
    }
}

exit(await Hallpass.execute())
