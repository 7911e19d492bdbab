public import Foundation
import Synchronization

/// One walk of the list: how far it got and what it found.
public struct SweepProgress: Sendable, Equatable {
    public var startedAt: Date
    public var completedAt: Date?
    /// Why the walk stopped early (a failed page), if it did.
    public var stoppedBecause: String?
    public var pages = 0
    /// Listed connections with cached variants, plus cached ids checked by a retrieve.
    public var checked = 0
    public var listed = 0
    public var revalidated = 0
    public var changed = 0
    /// Cached connections missing from the complete list, each checked with one retrieve.
    public var missingChecked = 0
    /// Calls to Persona this walk made.
    public var calls = 0

    public init(startedAt: Date) {
        self.startedAt = startedAt
    }
}

/// The sweep's current and last walks, for `/admin/sweep` and the metrics.
public final class SweepStatus: Sendable {
    private struct State {
        var current: SweepProgress?
        var last: SweepProgress?
        var lastComplete: SweepProgress?
    }

    private let state = Mutex(State())
    public let intervalSeconds: @Sendable () -> Double

    public init(intervalSeconds: @escaping @Sendable () -> Double) {
        self.intervalSeconds = intervalSeconds
    }

    public var current: SweepProgress? { state.withLock { $0.current } }
    public var last: SweepProgress? { state.withLock { $0.last } }
    /// The last walk that reached the end of the list.
    public var lastComplete: SweepProgress? { state.withLock { $0.lastComplete } }

    func update(_ progress: SweepProgress) {
        state.withLock { $0.current = progress }
    }

    func finish(_ progress: SweepProgress) {
        state.withLock { state in
            state.current = nil
            state.last = progress
            if progress.stoppedBecause == nil { state.lastComplete = progress }
        }
    }
}
