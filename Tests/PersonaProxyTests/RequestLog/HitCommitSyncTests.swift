import Foundation
import GRDB
import Logging
@testable import PersonaProxy
import Synchronization
import Testing

/// Hit commits wait for the disk once a second, not ten times: the others survive a crash of the
/// process, and a power cut loses at most a second of hit rows. A Persona call's row always waits.
@Suite struct HitCommitSyncTests {
    /// The in-memory store, noting whether each commit was asked to wait for the disk.
    final class SyncRecordingStore: RequestLogQueueStore {
        let records = MemoryRequestLogStore()
        let durable = Mutex<[Bool]>([])

        func appendQueued(_ queue: RecordBytes) async throws {
            durable.withLock { $0.append(true) }
            records.append(queue.records())
        }
        func appendQueuedBlocking(_ queue: RecordBytes, durable: Bool) throws {
            self.durable.withLock { $0.append(durable) }
            records.append(queue.records())
        }
        func append(_ records: [RequestLogRecord]) async throws { self.records.append(records) }
        func appendBlocking(_ records: [RequestLogRecord]) throws { self.records.append(records) }
        func query(_ query: RequestLogQuery) async throws -> [RequestLogRecord] { records.query(query) }
        func prune(receivedBefore cutoff: Date, maxRows: Int?, batch: Int) async throws -> Int { 0 }
        func rowCount() async throws -> Int { records.rowCount() }
    }

    @Test func everyThirdPeriodicCommitAndAnyOtherFlushWaitForTheDisk() async {
        let thread = BackgroundThread()
        defer { thread.shutdown() }
        let store = SyncRecordingStore()
        let writer = BatchedRequestLogWriter(store: store, logger: Logger(label: "test"), thread: thread, durableEvery: 3)
        for index in 0..<6 {
            writer.enqueue(PackedHitsTests.hit(String(format: "ppx_s%03d", index), at: Double(index)))
            await writer.flush(deferringSync: true)
        }
        writer.enqueue(PackedHitsTests.hit("ppx_s006", at: 6))
        await writer.flush()
        #expect(store.durable.withLock { $0 } == [false, false, true, false, false, true, true])
        #expect(store.records.rowCount() == 7)
    }

    /// The commit that skips the disk runs at NORMAL, and the connection is FULL again for the
    /// next write (a Persona call's row, which must survive a power cut).
    @Test func aCommitThatSkipsTheDiskLeavesTheConnectionWaitingForIt() throws {
        let directory = TemporaryDirectory()
        let database = RequestLogSchema.database(path: directory.path + "/requests.sqlite", legacyCachePath: nil)
        try database.open()
        defer { database.close() }
        let during = try database.writeBlocking(durable: false) { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        let after = try database.writeBlocking { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(during == 1, "NORMAL inside the commit")
        #expect(after == 2, "FULL again afterwards")

        let store = SQLiteRequestLogStore(database: database)
        try store.appendQueuedBlocking(RecordBytes([PackedHitsTests.hit("ppx_n001", at: 1)]), durable: false)
        #expect(try database.writeBlocking { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
        #expect(try database.writeBlocking { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM request_log") } == 1)
    }
}
