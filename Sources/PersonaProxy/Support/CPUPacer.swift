import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Breaks a background thread's long jobs into short runs: at each `CPUPacer.point()` the thread
/// sleeps for `pause` once it has run for `run` since its last pause.
///
/// Why: on two cores, with one event loop on one and the load generator on the other, the hit
/// writer is a third thread. Linux's scheduler handed it a core at a tick and let it keep that
/// core until the next tick — 4 ms at HZ=250 — while the task it displaced (the event loop, or
/// the client whose requests the loop was waiting for) sat runnable and the other core idled:
/// `perf sched` showed every off-CPU stretch of the event loop over 1 ms to be one of these, and
/// they set the hit p99 (2–4 ms against 1 ms with hit rows off). A sleep gives the core back at
/// once; the writer's work is the same, spread out. Nice values cannot do this: a nice-19 thread
/// runs less often, not in shorter stretches.
///
/// Unchecked `Sendable`: a pacer is installed on one thread and only that thread touches it.
public final class CPUPacer: @unchecked Sendable {
    public struct Budget: Sendable {
        public var run: Duration
        public var pause: Duration

        public init(run: Duration, pause: Duration) {
            self.run = run
            self.pause = pause
        }

        /// 200 µs at a time, then 100 µs off: up to two thirds of a core.
        public static let writer = Budget(run: .microseconds(200), pause: .microseconds(100))
    }

    let runNanos: UInt64
    let pauseNanos: Int
    private let clock: () -> UInt64
    private let sleep: (Int) -> Void
    private var since: UInt64
    /// Pauses taken, for tests.
    private(set) var pauses = 0

    /// - Parameters:
    ///   - clock: nanoseconds on a monotonic clock (tests pass their own).
    ///   - sleep: pauses the thread for that many nanoseconds.
    public init(_ budget: Budget, clock: @escaping () -> UInt64 = CPUPacer.monotonicNanoseconds, sleep: @escaping (Int) -> Void = CPUPacer.sleep) {
        runNanos = UInt64(TimeAmount(budget.run).nanoseconds)
        pauseNanos = Int(TimeAmount(budget.pause).nanoseconds)
        self.clock = clock
        self.sleep = sleep
        since = clock()
    }

    private static let current = ThreadSpecificVariable<CPUPacer>()

    /// Paces the calling thread from now on (nil: stop pacing it).
    static func install(_ pacer: CPUPacer?) { current.currentValue = pacer }

    /// The calling thread's pacer, if it has one.
    static var installed: CPUPacer? { current.currentValue }

    /// A place where the calling thread may pause; costs a clock read on a paced thread and a
    /// thread-local lookup elsewhere.
    static func point() { current.currentValue?.check() }

    /// Starts a fresh run (a job begins after the thread slept).
    static func restart() { current.currentValue?.restart() }

    func restart() { since = clock() }

    func check() {
        guard clock() &- since >= runNanos else { return }
        sleep(pauseNanos)
        pauses += 1
        since = clock()
    }

    public static func sleep(_ nanoseconds: Int) {
        var pause = timespec(tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
        _ = nanosleep(&pause, nil)
    }

    /// Wall time, not the thread's CPU time: a stretch in which the thread was preempted counts
    /// as run, which only brings the next pause forward. `CLOCK_MONOTONIC` is read without a system call.
    public static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
