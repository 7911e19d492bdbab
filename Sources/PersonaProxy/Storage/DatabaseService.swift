import Foundation
public import Logging
public import ServiceLifecycle

/// Keeps the database open for the life of the daemon: retries opening until it works (so a
/// disk that comes back is picked up without a restart), probes it while its writes fail, and
/// closes it last on shutdown.
public struct DatabaseService: Service {
    let database: SQLiteDatabase
    let logger: Logger
    var retryDelays: [Duration] = [.seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30)]
    var probeInterval: Duration = .seconds(2)

    public init(database: SQLiteDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    public func run() async throws {
        var attempt = 0
        while database.unavailableReason != nil, !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try database.open()
                logger.info("database open", metadata: ["path": "\(database.path)"])
            } catch {
                let delay = retryDelays[min(attempt, retryDelays.count - 1)]
                logger.error("database unavailable; retrying", metadata: ["reason": "\(database.unavailableReason ?? "\(error)")", "retry_in": "\(delay)"])
                attempt += 1
                await Task.sleepUnlessShuttingDown(for: delay)
            }
        }
        // The full page check, once, now that the proxy serves (at open only the header and schema
        // are read, so a large file does not delay readiness).
        if !Task.isShuttingDownGracefully, let damage = await database.verify() {
            logger.error("database damaged", metadata: ["reason": "\(damage)"])
        }
        // Degraded (the latest write failed): probe until a write commits again, so the proxy
        // recovers by itself even when no request would have written.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await Task.sleepUnlessShuttingDown(for: probeInterval)
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
            if database.writeFailure != nil, await database.writeProbe(at: Date().timeIntervalSince1970) == nil {
                logger.notice("database accepts writes again", metadata: ["path": "\(database.path)"])
            }
        }
        database.close()
    }
}

extension Task where Success == Never, Failure == Never {
    /// Sleeps for `duration`, returning early on cancellation or graceful shutdown.
    static func sleepUnlessShuttingDown(for duration: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask { try? await gracefulShutdown() }
            await group.next()
            group.cancelAll()
        }
    }
}

/// The loop every pruning service runs: wait `interval`, do one pass, log what it did or why it
/// failed, until shutdown (no pass starts after shutdown began).
func prunePeriodically(every interval: Duration, what: String, logger: Logger, pass: () async throws -> Int) async {
    while !Task.isShuttingDownGracefully, !Task.isCancelled {
        await Task.sleepUnlessShuttingDown(for: interval)
        guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
        do {
            let removed = try await pass()
            if removed > 0 { logger.debug("pruned \(what)", metadata: ["rows": "\(removed)"]) }
        } catch {
            logger.warning("pruning \(what) failed", metadata: ["error": "\(error)"])
        }
    }
}
