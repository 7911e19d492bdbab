public import Logging
import Synchronization

/// The configuration in force, replaceable while running (SIGHUP). Components read it per
/// decision through closures, so a new TTL or rate-limit setting applies to the next request;
/// keys bound at start-up (listener, database, upstream client) are reported as needing a restart.
public final class LiveConfiguration: Sendable {
    private let current: Mutex<ProxyConfiguration>
    private let settings: Mutex<RequestSettings>
    public let logLevel: LogLevelControl

    public init(_ configuration: ProxyConfiguration, logLevel: LogLevelControl = LogLevelControl()) {
        self.current = Mutex(configuration)
        self.settings = Mutex(Self.requestSettings(configuration))
        self.logLevel = logLevel
        logLevel.level = configuration.logLevel
    }

    public var value: ProxyConfiguration { current.withLock { $0 } }

    /// What requests read, kept ready: one reference per request instead of a copy of the whole
    /// configuration.
    public var requestSettings: RequestSettings { settings.withLock { $0 } }

    static func requestSettings(_ configuration: ProxyConfiguration) -> RequestSettings {
        RequestSettings(
            access: AccessControl(clients: configuration.clients, metricsRequireToken: configuration.metricsRequireToken),
            policy: configuration.cachePolicy, defaultPersonaVersion: configuration.personaVersion,
            allowedPersonaVersions: Set(configuration.allowedPersonaVersions))
    }

    /// Keys that only take effect on restart.
    public static let restartOnlyKeys: Set<String> = [
        "server.host", "server.port", "server.max_connections", "server.idle_timeout_seconds", "server.max_header_bytes", "server.hit_fast_path", "server.event_loop_threads", "upstream.base_url", "upstream.api_key_file", "upstream.timeout_seconds", "cache.path", "request_log.path",
        "cache.memory_entries", "cache.memory_bytes",
    ]

    public struct ReloadOutcome: Sendable, Equatable {
        /// Keys whose new value is now in force.
        public var applied: [String]
        /// Keys that changed in the file but keep their old value until a restart.
        public var needRestart: [String]
    }

    /// Puts `new` in force, except the restart-only keys, which keep their running values.
    @discardableResult
    public func replace(with new: ProxyConfiguration) -> ReloadOutcome {
        let old = value
        let oldLines = Dictionary(uniqueKeysWithValues: old.effectiveLines.map(Self.split))
        let newLines = Dictionary(uniqueKeysWithValues: new.effectiveLines.map(Self.split))
        let changed = newLines.keys.filter { oldLines[$0] != newLines[$0] }.sorted()
        var merged = new
        merged.serverHost = old.serverHost
        merged.serverPort = old.serverPort
        merged.maxConnections = old.maxConnections
        merged.idleTimeoutSeconds = old.idleTimeoutSeconds
        merged.maxHeaderBytes = old.maxHeaderBytes
        merged.hitFastPath = old.hitFastPath
        merged.eventLoopThreads = old.eventLoopThreads
        merged.upstreamBaseURL = old.upstreamBaseURL
        merged.apiKeyFile = old.apiKeyFile
        merged.upstreamTimeoutSeconds = old.upstreamTimeoutSeconds
        merged.cachePath = old.cachePath
        merged.requestLogPath = old.requestLogPath
        merged.memoryEntries = old.memoryEntries
        merged.memoryBytes = old.memoryBytes
        current.withLock { $0 = merged }
        settings.withLock { $0 = Self.requestSettings(merged) }
        logLevel.level = merged.logLevel
        return ReloadOutcome(
            applied: changed.filter { !Self.restartOnlyKeys.contains($0) }, needRestart: changed.filter { Self.restartOnlyKeys.contains($0) })
    }

    private static func split(_ line: String) -> (String, String) {
        let parts = line.split(separator: ":", maxSplits: 1)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
    }
}

/// One log level shared by every logger of the process, so a reload changes it everywhere.
public final class LogLevelControl: Sendable {
    private let current = Mutex(Logger.Level.info)

    public init() {}

    public var level: Logger.Level {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}
