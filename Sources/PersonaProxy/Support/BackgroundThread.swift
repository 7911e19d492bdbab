import CSupport
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One thread of its own, at the lowest CPU priority (nice 19), for work that must get done but
/// should not take the CPU from an event loop: the hit writer's commits. On a busy machine the
/// scheduler then runs it mostly in the gaps the event loops leave. Measured on two cores at
/// saturation (one event loop, wrk on the other core): with the commits on the database's shared
/// pool threads the event loop was preempted 2 900 times a second; here, 1 300 (the README's
/// performance section has the throughput and p99). Not `SCHED_IDLE`: under a load that never
/// leaves a core idle that policy could starve the writer until its queue dropped rows; nice 19
/// still gets a small share.
///
/// A low priority decides how often the thread runs, not for how long: once the scheduler gives it
/// a core it kept it until the next tick (4 ms), so its jobs also pace themselves (`CPUPacer`),
/// pausing every 200 µs of work. A thread at normal priority (the hit writer's backlog thread)
/// is paced the same way.
///
/// Lowering a thread's own priority needs no privilege (raising it back would), so the thread
/// keeps it for its whole life and does nothing else. It starts with the first job and ends with
/// `shutdown()`.
public final class BackgroundThread: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var started = false
        var stopping = false
    }

    public let niceness: Int32
    let name: String
    /// How the thread's jobs pause at `CPUPacer.point()`s; nil, never.
    let pacing: CPUPacer.Budget?
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    public init(niceness: Int32 = 19, name: String = "ppx-hit-writer", pacing: CPUPacer.Budget? = .writer) {
        self.niceness = niceness
        self.name = name
        self.pacing = pacing
    }

    /// Runs `body` on the thread and waits for it without blocking the caller's thread.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let job: @Sendable () -> Void = { continuation.resume(with: Result { try body() }) }
            let (accepted, start) = state.withLock { state -> (Bool, Bool) in
                guard !state.stopping else { return (false, false) }
                state.jobs.append(job)
                defer { state.started = true }
                return (true, !state.started)
            }
            guard accepted else {
                continuation.resume(throwing: StorageError.failed("the background writer thread has stopped"))
                return
            }
            if start { startThread() }
            wake.signal()
        }
    }

    /// Jobs submitted and not yet started.
    var queuedJobs: Int { state.withLock { $0.jobs.count } }

    /// Ends the thread once the jobs already submitted have run; later jobs are refused.
    public func shutdown() {
        let started = state.withLock { state -> Bool in
            state.stopping = true
            return state.started
        }
        if started { wake.signal() }
    }

    private func startThread() {
        let thread = Thread { [self] in
            // On Linux a nice value belongs to a thread, and `who = 0` names the calling one.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
            // As top -H and perf show it (`Thread.name` stays inside Foundation on Linux).
            _ = ppx_name_this_thread(name)
            if let pacing { CPUPacer.install(CPUPacer(pacing)) }
            while true {
                wake.wait()
                let next = state.withLock { state -> (job: (@Sendable () -> Void)?, stop: Bool) in
                    if !state.jobs.isEmpty { return (state.jobs.removeFirst(), false) }
                    return (nil, state.stopping)
                }
                if let job = next.job { CPUPacer.restart(); job() } else if next.stop { return }
            }
        }
        thread.start()
    }
}
