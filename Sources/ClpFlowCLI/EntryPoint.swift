import ArgumentParser
import ClpFlowCore
import Foundation

extension ClpFlowCommand {
    /// The entry point. Parsing problems keep argument-parser's handling (usage message, exit 64);
    /// errors a command throws are mapped onto the documented exit codes: `ExitCode` as thrown,
    /// `ValidationError` 64, and any other error — one no command anticipated, such as a file
    /// that cannot be written — 70 (internal error) with `error: …` on standard error, instead of
    /// argument-parser's generic 1, which means "a step failed".
    public static func main() async {
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error where error is ExitCode || error is CleanExit || error is ValidationError
                    || isArgumentParserError(error) {
            // argument-parser's own errors include the help request of its built-in `help`
            // subcommand, which `exit(withError:)` turns into usage on stdout and exit 0.
            exit(withError: error)
        } catch {
            FileHandle.standardError.write(Data("error: \(describe(error))\n".utf8))
            Foundation.exit(ClpFlowExit.internalError)
        }
    }

    /// Errors thrown by argument-parser itself (for example the help request that its built-in
    /// `help` subcommand's `run()` throws), recognised by the module that declares their type.
    static func isArgumentParserError(_ error: Error) -> Bool {
        String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }

    /// A file-system error as `PATH: reason` (e.g. `runs/x: Not a directory`) instead of
    /// Foundation's NSError dump; any other error as its description.
    static func describe(_ error: Error) -> String {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain else { return "\(error)" }
        let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        var reason = ns.localizedDescription
        if let u = (ns.userInfo[NSUnderlyingErrorKey] as? Error).map({ $0 as NSError }), u.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(u.code)))
        }
        return path.map { "\($0): \(reason)" } ?? reason
    }
}
