public import Logging
public import ServiceLifecycle
import UnixSignals

/// Re-reads the configuration on SIGHUP (`systemctl reload`). An invalid file is refused with a
/// logged error and the running configuration stays in force; the cache, the listener and open
/// connections are untouched either way.
public struct ReloadService: Service {
    let live: LiveConfiguration
    let load: @Sendable () async throws -> ProxyConfiguration
    let logger: Logger

    public init(live: LiveConfiguration, load: @escaping @Sendable () async throws -> ProxyConfiguration, logger: Logger) {
        self.live = live
        self.load = load
        self.logger = logger
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        // Ends with the shutdown: waiting for the next SIGHUP must not keep the process alive.
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                await reload()
            }
        }
    }

    /// One reload, as on SIGHUP.
    @discardableResult
    public func reload() async -> LiveConfiguration.ReloadOutcome? {
        do {
            let outcome = live.replace(with: try await load())
            logger.notice(
                "configuration reloaded",
                metadata: ["applied": "\(outcome.applied.joined(separator: ","))", "needs_restart": "\(outcome.needRestart.joined(separator: ","))"])
            return outcome
        } catch {
            logger.error("configuration reload refused; the running configuration stays in force", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
