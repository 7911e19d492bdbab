import Foundation
public import Logging
public import ServiceLifecycle

/// Applies `request_log.retention_days` and `request_log.max_rows`, deleting the oldest rows in
/// small batches so that request writes never wait long behind it.
public struct RequestLogJanitor: Service {
    let store: any RequestLogStore
    let clock: any WallClock
    let retention: @Sendable () -> (days: Double, maxRows: Int?)
    let interval: Duration
    let logger: Logger

    public init(
        store: any RequestLogStore, clock: any WallClock, retention: @escaping @Sendable () -> (days: Double, maxRows: Int?),
        interval: Duration = .seconds(60), logger: Logger
    ) {
        self.store = store
        self.clock = clock
        self.retention = retention
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await prunePeriodically(every: interval, what: "request log", logger: logger) { try await pruneOnce() }
    }

    @discardableResult
    public func pruneOnce(batch: Int = 1000) async throws -> Int {
        let (days, maxRows) = retention()
        return try await store.prune(receivedBefore: clock.now().addingTimeInterval(-days * 86_400), maxRows: maxRows, batch: batch)
    }
}
