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
