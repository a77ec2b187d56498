import Foundation
import Logging

/// Logging for the commands: swift-log to standard error (stdout stays for results). The level
/// comes from CLP_FLOW_LOG_LEVEL (trace, debug, info, notice, warning, error, critical; default
/// info).
enum Log {
    private static let bootstrapped: Void = {
        let raw = ProcessInfo.processInfo.environment["CLP_FLOW_LOG_LEVEL"]?.lowercased()
        let level = raw.flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }()

    static func logger(_ label: String) -> Logger {
        _ = bootstrapped
        return Logger(label: "clp-flow.\(label)")
    }
}
