import Foundation
import Logging
import PersonaProxy

enum LoggingSetup {
    /// One shared level for every logger, so a reload can change it.
    static let level = LogLevelControl()

    /// Logs go to stderr (journald under systemd), as logfmt or JSON lines.
    static func bootstrap(format: ProxyLogHandler.Format = .logfmt, level initial: Logger.Level = .info) {
        level.level = initial
        let timestamps = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] == nil
        LoggingSystem.bootstrap { label in
            ProxyLogHandler(label: label, format: format, timestamps: timestamps, control: level)
        }
    }
}

/// Writes a line to stdout at once: `print` is block-buffered when stdout is a pipe (make, a
/// log collector), and the demo's instructions must appear before anyone waits for them.
func printNow(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
