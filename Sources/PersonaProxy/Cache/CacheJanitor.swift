import Foundation
public import Logging
public import ServiceLifecycle

/// Deletes entries too old to be served even stale (past `max(stale_while_revalidate,
/// stale_if_error)`), so the database holds what can still be used and no more.
public struct CacheJanitor: Service {
    let store: any CacheStore
    let clock: any WallClock
    /// How long past expiry an entry may still be served (stale), read on every pass so a reload applies.
    let retentionAfterExpiry: @Sendable () -> Double
    let interval: Duration
    let batchSize: Int
    let logger: Logger

    public init(
        store: any CacheStore, clock: any WallClock, retentionAfterExpiry: @escaping @Sendable () -> Double, interval: Duration = .seconds(60),
        batchSize: Int = 1000, logger: Logger
    ) {
        self.store = store
        self.clock = clock
        self.retentionAfterExpiry = retentionAfterExpiry
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        await prunePeriodically(every: interval, what: "expired cache entries", logger: logger) { try await pruneOnce() }
    }

    /// One pass: deletes in batches until nothing is left to delete.
    @discardableResult
    public func pruneOnce() async throws -> Int {
        let cutoff = clock.now().addingTimeInterval(-retentionAfterExpiry())
        var total = 0
        while true {
            let removed = try await store.pruneExpired(before: cutoff, limit: batchSize)
            total += removed
            if removed < batchSize { return total }
            await Task.yield()
        }
    }
}
