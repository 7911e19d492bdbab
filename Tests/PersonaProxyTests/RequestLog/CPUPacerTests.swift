import Foundation
import GRDB
@testable import PersonaProxy
import Testing

/// The hit writer's threads give the CPU back every `run` of work (`CPUPacer`): a commit that
/// needs milliseconds of CPU never holds a core that long in one stretch.
@Suite struct CPUPacerTests {
    /// On a test clock: 1 ms of work in steps of 50 µs, with a 200 µs run, is five pauses of the
    /// budget's length; a job that starts after the thread slept starts a fresh run.
    @Test func aPacerPausesOnceItsRunIsSpent() {
        var now: UInt64 = 0
        var slept: [Int] = []
        let pacer = CPUPacer(.writer, clock: { now }, sleep: { nanoseconds in
            slept.append(nanoseconds)
            now += UInt64(nanoseconds)
        })
        for _ in 0..<20 {
            now += 50_000
            pacer.check()
        }
        #expect(pacer.pauses == 5)
        #expect(slept == Array(repeating: 100_000, count: 5))
        // The thread waited 10 ms for its next job: that wait is not a run.
        now += 10_000_000
        pacer.restart()
        now += 150_000
        pacer.check()
        #expect(pacer.pauses == 5)
        now += 50_000
        pacer.check()
        #expect(pacer.pauses == 6)
    }

    /// The start-up `quick_check` thread is not paced: a pacing point there does nothing.
    @Test func aThreadWithoutAPacerHasNone() async throws {
        let thread = BackgroundThread(name: "ppx-test-free", pacing: nil)
        defer { thread.shutdown() }
        #expect(try await thread.run { CPUPacer.installed == nil })
    }

    @Test func theHitWritersThreadsArePaced() async throws {
        let thread = BackgroundThread()
        defer { thread.shutdown() }
        let budget = try await thread.run { CPUPacer.installed.map { ($0.runNanos, $0.pauseNanos) } }
        #expect(budget?.0 == 200_000)
        #expect(budget?.1 == 100_000)
    }

    /// After a flush on the writer's thread the hits are in the database file itself, not only in
    /// the WAL: the checkpoint runs right after the commit (apart from it), instead of inside
    /// whichever later commit crosses SQLite's 1 000-page mark. A copy of the main file alone, as
    /// a careless backup takes, has them.
    @Test func aFlushOnTheWritersThreadLeavesItsRowsInTheDatabaseFile() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/requests.sqlite"
        let database = RequestLogSchema.database(path: path, legacyCachePath: nil)
        try database.open()
        defer { database.close() }
        // The schema into the file first: what is left to check is the flush's own pages.
        try database.checkpointBlocking()
        let thread = BackgroundThread()
        defer { thread.shutdown() }
        let writer = BatchedRequestLogWriter(store: SQLiteRequestLogStore(database: database), logger: .init(label: "test"), thread: thread)
        for index in 0..<300 { writer.enqueue(PackedHitsTests.hit(String(format: "ppx_c%04d", index), at: Double(index) / 100)) }
        await writer.flush()
        let copy = directory.path + "/copy.sqlite"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let alone = try DatabaseQueue(path: copy)
        let hits = try await alone.read { db in try Int.fetchOne(db, sql: "SELECT coalesce(sum(count), 0) FROM request_log_hit_batches") }
        #expect(hits == 300, "the main file alone holds \(hits ?? 0) of 300 hits")
    }
}
