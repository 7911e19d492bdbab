import Foundation
import Logging
@testable import PersonaProxy
import Synchronization
import Testing

/// A commit the database refuses puts its rows back ahead of newer ones, within the queue's bound:
/// rows wait rather than drop, and when they must drop, the oldest go.
@Suite struct HitWriterRetryTests {
    /// The in-memory store, refusing its first `failures` commits; `whileFailing` runs inside each
    /// refused one (rows arriving while the database is stuck).
    final class FlakyStore: RequestLogStore {
        let records = MemoryRequestLogStore()
        let failures: Mutex<Int>
        let whileFailing: Mutex<(@Sendable () -> Void)?> = Mutex(nil)

        init(failures: Int) { self.failures = Mutex(failures) }

        private func refuse() throws {
            guard failures.withLock({ failures in defer { failures -= 1 }; return failures > 0 }) else { return }
            whileFailing.withLock { $0 }?()
            throw StorageError.failed("database is locked")
        }

        func append(_ records: [RequestLogRecord]) async throws {
            try refuse()
            self.records.append(records)
        }

        func appendBlocking(_ records: [RequestLogRecord]) throws {
            try refuse()
            self.records.append(records)
        }

        func query(_ query: RequestLogQuery) async throws -> [RequestLogRecord] { records.query(query) }
        func prune(receivedBefore cutoff: Date, maxRows: Int?, batch: Int) async throws -> Int { 0 }
        func rowCount() async throws -> Int { records.rowCount() }
    }

    static func hit(_ index: Int) -> RequestLogRecord { PackedHitsTests.hit(String(format: "ppx_r%03d", index), at: Double(index)) }

    @Test func refusedRowsComeBackFirstAndTheQueueBoundStillHolds() async throws {
        let store = FlakyStore(failures: 1)
        let writer = BatchedRequestLogWriter(store: store, capacity: 4, logger: Logger(label: "test"))
        for index in 1...3 { writer.enqueue(Self.hit(index)) }
        await writer.flush()
        #expect(writer.queued == 3, "the refused batch is queued again")
        for index in 4...5 { writer.enqueue(Self.hit(index)) }
        #expect(writer.queued == 4, "the fifth row is past the bound")
        await writer.flush()
        #expect(store.records.query(RequestLogQuery(limit: 10)).reversed().map(\.requestId) == (1...4).map { Self.hit($0).requestId })
    }

    @Test func rowsArrivingWhileACommitIsRefusedPushOutTheOldestOfIt() async throws {
        let thread = BackgroundThread()
        defer { thread.shutdown() }
        let store = FlakyStore(failures: 1)
        let writer = BatchedRequestLogWriter(store: store, capacity: 4, logger: Logger(label: "test"), thread: thread)
        store.whileFailing.withLock { $0 = { for index in 5...6 { writer.enqueue(Self.hit(index)) } } }
        for index in 1...4 { writer.enqueue(Self.hit(index)) }
        await writer.flush()
        #expect(writer.queued == 4)
        await writer.flush()
        #expect(store.records.query(RequestLogQuery(limit: 10)).reversed().map(\.requestId) == [3, 4, 5, 6].map { Self.hit($0).requestId })
    }
}
