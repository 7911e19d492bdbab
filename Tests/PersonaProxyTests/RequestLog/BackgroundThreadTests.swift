import Foundation
import Logging
@testable import PersonaProxy
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The hit writer's commits run on one thread of their own at nice 19, so that the scheduler
/// prefers the event loops; jobs run in order, and none is lost at shutdown.
@Suite struct BackgroundThreadTests {
    final class Seen: Sendable {
        let values = Mutex<[Int]>([])
        func append(_ value: Int) { values.withLock { $0.append(value) } }
    }

    @Test func jobsRunInOrderOnOneThreadAtTheLowestPriority() async throws {
        let thread = BackgroundThread()
        let seen = Seen()
        let first = try await thread.run { () -> Int32 in
            seen.append(1)
            return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        }
        #expect(first == 19)
        // Named as top -H and perf show it.
        let name = try await thread.run { try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) }
        #expect(name == "ppx-hit-writer\n")
        // The caller's own thread keeps its priority.
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) != 19)
        try await thread.run { seen.append(2) }
        try await thread.run { seen.append(3) }
        #expect(seen.values.withLock { $0 } == [1, 2, 3])
        thread.shutdown()
    }

    /// GRDB's own queues (misses' rows, pruning, the sweep's writes, a hit backlog) run at the
    /// event loops' priority: its default ran them at nice -2, ahead of answering requests.
    @Test func theDatabasesQueuesDoNotOutrankTheEventLoops() async throws {
        try await GroupedRequestLogTests.withDatabase { database, _ in
            let process = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
            let writing = try await database.write { _ in getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
            let reading = try await database.pool().read { _ in getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
            #expect(writing >= process && reading >= process, "write at nice \(writing), read at \(reading), process at \(process)")
        }
    }

    @Test func aJobSubmittedBeforeShutdownRunsAndOneAfterIsRefused() async throws {
        let thread = BackgroundThread()
        let gate = DispatchSemaphore(value: 0)
        let (started, signalStarted) = AsyncStream<Void>.makeStream()
        async let held: Int = thread.run {
            signalStarted.yield()
            gate.wait()
            return 7
        }
        // Stop the thread while the job is running.
        for await _ in started { break }
        thread.shutdown()
        gate.signal()
        #expect(try await held == 7)
        await #expect(throws: StorageError.self) { try await thread.run { 1 } }
    }

    @Test func errorsComeBackToTheCaller() async throws {
        let thread = BackgroundThread()
        defer { thread.shutdown() }
        await #expect(throws: StorageError.self) { try await thread.run { throw StorageError.failed("disk full") } }
    }
}

/// The hit writer's flushes run on its thread one after another: a flush called while an earlier
/// one is still committing returns only once those rows are in too.
@Suite struct BatchedRequestLogWriterThreadTests {
    /// Occupies the thread with a job that runs until the gate is signalled; returns once it runs.
    static func hold(_ thread: BackgroundThread) async -> (gate: DispatchSemaphore, held: Task<Void, any Error>) {
        let gate = DispatchSemaphore(value: 0)
        let (started, signalStarted) = AsyncStream<Void>.makeStream()
        let held = Task {
            try await thread.run {
                signalStarted.yield()
                gate.wait()
            }
        }
        for await _ in started { break }
        return (gate, held)
    }

    @Test func aFlushWaitsForTheCommitAlreadyUnderWay() async throws {
        let thread = BackgroundThread()
        defer { thread.shutdown() }
        let store = MemoryRequestLogStore()
        let writer = BatchedRequestLogWriter(store: store, logger: Logger(label: "test"), thread: thread)
        // Hold the thread, as a slow commit would.
        let (gate, held) = await Self.hold(thread)
        writer.enqueue(PackedHitsTests.hit("ppx_d001", at: 0))
        let first = Task { await writer.flush() }
        // The first flush is waiting for the thread; a second one now must wait for it.
        while thread.queuedJobs < 1 { await Task.yield() }
        async let second: Void = writer.flush()
        gate.signal()
        await second
        #expect(store.rowCount() == 1, "the second flush returned before the first one's row was committed")
        await first.value
        try await held.value
    }

    /// A backlog is committed at normal priority even while the nice-19 thread gets no CPU (held
    /// here, as a load that fills every core holds it): rows wait at most a flush, never drop.
    @Test func aBacklogIsCommittedWithoutTheLowPriorityThread() async throws {
        let thread = BackgroundThread()
        defer { thread.shutdown() }
        let store = MemoryRequestLogStore()
        let writer = BatchedRequestLogWriter(store: store, logger: Logger(label: "test"), thread: thread, escalateAt: 3)
        let (gate, held) = await Self.hold(thread)
        for index in 0..<5 { writer.enqueue(PackedHitsTests.hit("ppx_e00\(index)", at: Double(index))) }
        let flush = Task { await writer.flush() }
        // Without the escalation the flush waits for the held thread and no row comes in.
        var turns = 0
        while store.rowCount() < 5, turns < 100_000 {
            await Task.yield()
            turns += 1
        }
        #expect(store.rowCount() == 5, "the backlog waited for the starved thread")
        gate.signal()
        await flush.value
        try await held.value
    }

    /// With a backlog thread (the proxy has one, at normal priority and paced), a backlog is
    /// committed there: held, the flush waits for it; released, the rows come in.
    @Test func aBacklogGoesToTheBacklogThread() async throws {
        let thread = BackgroundThread()
        let backlog = BackgroundThread(niceness: 0, name: "ppx-hit-backlog")
        defer {
            thread.shutdown()
            backlog.shutdown()
        }
        let store = MemoryRequestLogStore()
        let writer = BatchedRequestLogWriter(store: store, logger: Logger(label: "test"), thread: thread, backlogThread: backlog, escalateAt: 3)
        let (gate, held) = await Self.hold(thread)
        let (backlogGate, backlogHeld) = await Self.hold(backlog)
        for index in 0..<5 { writer.enqueue(PackedHitsTests.hit("ppx_f00\(index)", at: Double(index))) }
        let flush = Task { await writer.flush() }
        while backlog.queuedJobs < 1 { await Task.yield() }
        #expect(store.rowCount() == 0, "the backlog went elsewhere than the backlog thread")
        backlogGate.signal()
        await flush.value
        #expect(store.rowCount() == 5)
        gate.signal()
        try await held.value
        try await backlogHeld.value
    }
}
