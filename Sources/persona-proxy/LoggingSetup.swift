import Foundation
import Logging

enum LoggingSetup {
    /// Logs go to stderr (journald under systemd). Levels are set per logger from `log.level`.
    static func bootstrap() {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .trace
            return handler
        }
    }
}

/// Writes a line to stdout at once: `print` is block-buffered when stdout is a pipe (make, a
/// log collector), and the demo's instructions must appear before anyone waits for them.
func printNow(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
