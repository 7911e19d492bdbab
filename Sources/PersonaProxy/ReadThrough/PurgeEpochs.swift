import Synchronization

/// Counts purges per connection, so a fetch that began before a purge can tell, when its answer
/// arrives, that the answer may predate the change that caused the purge (a deactivate) and
/// must not be stored.
public final class PurgeEpochs: Sendable {
    private let state = Mutex((all: 0, byConnection: [String: Int]()))

    public init() {}

    public func epoch(for connectionId: String) -> Int {
        state.withLock { $0.all + ($0.byConnection[connectionId] ?? 0) }
    }

    public func bump(_ connectionId: String) {
        state.withLock { $0.byConnection[connectionId, default: 0] += 1 }
    }

    public func bumpAll() {
        state.withLock { $0.all += 1 }
    }
}
