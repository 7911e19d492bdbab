public import Logging
public import ServiceLifecycle

/// On shutdown, after the server stopped accepting and answered what it had, gives upstream
/// fetches still in flight (background refreshes nobody waits for included) `grace` to finish and
/// store their answer, then cancels the rest, so that the HTTP client and the databases close and
/// the process exits well within systemd's `TimeoutStopSec` (a refresh may otherwise wait up to two
/// minutes for budget).
public struct FetchDrainService: Service {
    let readThrough: ReadThroughCache
    let grace: @Sendable () -> Duration
    let logger: Logger

    public init(readThrough: ReadThroughCache, grace: @escaping @Sendable () -> Duration, logger: Logger) {
        self.readThrough = readThrough
        self.grace = grace
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        let readThrough = readThrough
        if await withDeadline(grace(), operation: { await readThrough.drain() }) == nil {
            logger.warning("fetches still running after server.shutdown_grace_seconds; cancelling them")
            readThrough.cancelFetches()
            // Cancelled fetches end at once (budget waits and upstream calls both honour it); the
            // bound is only a guard against one that does not.
            _ = await withDeadline(.seconds(2), operation: { await readThrough.drain() })
        }
    }
}
