public import Logging
public import ServiceLifecycle
import Synchronization

/// Writes hit records in the background, so a hit never waits for SQLite: queued in memory,
/// committed every `interval` (100 ms) in one transaction, and flushed on shutdown after the
/// server has drained. A crash can lose at most the last interval of *hit* rows; rows for calls
/// Persona saw come through here only when their own commit failed (the database is degraded),
/// and are retried with the rest.
public final class BatchedRequestLogWriter: Service {
    private let store: any RequestLogStore
    private let interval: Duration
    /// Past this many queued rows (the database is stuck) new rows are dropped and counted.
    private let capacity: Int
    private let logger: Logger
    /// Past this many queued rows a flush commits at normal priority (`backlogThread`, else GRDB's
    /// writer queue), not on the nice-19 thread: there the writer gets only the CPU the event
    /// loops leave, and a load that keeps every core busy — a million entries hit at random, each
    /// hit a connection value to index — let the queue fill until rows were dropped. A quarter of
    /// the queue's bound: a flush interval holds 7 000 hits at 70 000 hits/s, and a tenth (the
    /// bound before) was reached whenever one commit took 40 ms on a busy machine, which moved
    /// commits from the paced low-priority thread to normal priority in the middle of a benchmark.
    private let escalateAt: Int
    /// Where commits run: a thread of their own at the lowest priority; nil, the database's own
    /// queue (tests with the in-memory store).
    private let thread: BackgroundThread?
    /// Where a backlog is committed: a thread at normal priority, paced like `thread`.
    private let backlogThread: BackgroundThread?
    private struct Pending {
        var records = RecordBytes()
        /// The bytes of the last batch committed, emptied with their capacity kept: the next queue.
        var spare: RecordBytes?
        var dropped = 0
    }

    /// The largest queue kept for reuse: 8 MiB, about 20 000 hits with their packed JSON (a flush
    /// interval at 200 000 hits/s).
    static let spareCapacity = 8 << 20

    /// Records as bytes (`RecordBytes`): their strings stay on the thread that made them.
    private let pending = Mutex(Pending())

    public init(
        store: any RequestLogStore, interval: Duration = .milliseconds(100), capacity: Int = 100_000, logger: Logger, thread: BackgroundThread? = nil,
        backlogThread: BackgroundThread? = nil, escalateAt: Int? = nil
    ) {
        self.escalateAt = escalateAt ?? capacity / 4
        self.store = store
        self.thread = thread
        self.backlogThread = backlogThread
        self.interval = interval
        self.capacity = capacity
        self.logger = logger
    }

    public func enqueue(_ record: RequestLogRecord) {
        pending.withLock { pending in
            if pending.records.count < capacity {
                pending.records.append(record)
            } else {
                pending.dropped += 1
            }
        }
    }

    public var queued: Int { pending.withLock { $0.records.count } }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await Task.sleepUnlessShuttingDown(for: interval)
            await flush()
        }
        await flush()
        thread?.shutdown()
        backlogThread?.shutdown()
    }

    /// Commits everything queued so far; returns once it is committed (or kept for retry).
    public func flush() async {
        // On the writer's thread the queue is taken when the job runs: jobs run one after another,
        // so a flush called while another one commits waits for it instead of finding the queue
        // empty and returning before those rows are in.
        var released = false
        if let thread, queued < escalateAt, let outcome = try? await thread.run({ [self] in self.commitQueued() }) {
            released = outcome
        } else if let backlogThread, let outcome = try? await backlogThread.run({ [self] in self.commitQueued() }) {
            released = outcome
        } else if var batch = takeQueued() {
            do {
                if let store = store as? any RequestLogQueueStore {
                    try await store.appendQueued(batch)
                } else {
                    try await store.append(batch.records())
                }
                released = !recycle(&batch)
            } catch {
                keepForRetry(batch, error: error)
            }
        }
        // A backlog's queue grew past what is kept for reuse and was freed; glibc keeps freed
        // memory in its arenas, so give it back. Only then: `malloc_trim` locks every arena while
        // it walks them, the event loop's too, and when it ran after every escalated flush it held
        // the event loop for 3.5 ms (perf sched) for a queue that had been kept anyway.
        if released { FreeMemory.release() }
    }

    /// What `flush` does on the writer's own thread; true when the queue's bytes were let go.
    private func commitQueued() -> Bool {
        guard var batch = takeQueued() else { return false }
        do {
            if let store = store as? any RequestLogQueueStore {
                try store.appendQueuedBlocking(batch)
            } else {
                try store.appendBlocking(batch.records())
            }
            return !recycle(&batch)
        } catch {
            keepForRetry(batch, error: error)
            return false
        }
    }

    private func takeQueued() -> RecordBytes? {
        let (queued, dropped) = pending.withLock { pending in
            defer {
                pending.records = pending.spare ?? RecordBytes()
                pending.spare = nil
                pending.dropped = 0
            }
            return (pending.records, pending.dropped)
        }
        if dropped > 0 { logger.error("request log queue full; hit rows dropped", metadata: ["dropped": "\(dropped)"]) }
        return queued.isEmpty ? nil : queued
    }

    /// A committed queue's bytes become the next queue, their capacity kept, unless a backlog (a
    /// slow disk, a burst) grew them: then they go back to the system rather than stay at their
    /// peak size for the life of the process. Emptied in place (the caller's is the only copy), so
    /// the bytes are reused rather than copied into a fresh allocation the event loop would fault in.
    /// Returns whether the bytes were kept.
    @discardableResult
    private func recycle(_ batch: inout RecordBytes) -> Bool {
        guard batch.bytes.capacity <= Self.spareCapacity else { return false }
        batch.removeAll()
        let spare = batch
        pending.withLock { $0.spare = spare }
        return true
    }

    /// Kept for the next flush, ahead of newer rows, within the queue's bound: a database that
    /// refuses writes for a while delays rows, it does not lose them.
    private func keepForRetry(_ batch: RecordBytes, error: any Error) {
        let requeued = pending.withLock { pending -> Int in
            let room = max(0, capacity - pending.records.count)
            var requeue = batch
            let lost = max(0, batch.count - room)
            requeue.removeFirst(lost)
            requeue.append(contentsOf: pending.records)
            pending.records = requeue
            pending.dropped += lost
            return batch.count - lost
        }
        logger.error("request log batch write failed; rows kept for retry", metadata: ["rows": "\(requeued)", "error": "\(error)"])
    }
}
