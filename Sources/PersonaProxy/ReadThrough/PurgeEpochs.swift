import Synchronization

/// Counts purges per connection, so a fetch that began before a purge can tell, when its answer
/// arrives, that the answer may predate the change that caused the purge (a deactivate) and
/// must not be stored.
final class PurgeEpochs: Sendable {
    private let state = Mutex((all: 0, byConnection: [String: Int]()))

    func epoch(for connectionId: String) -> Int {
        state.withLock { $0.all + ($0.byConnection[connectionId] ?? 0) }
    }

    func bump(_ connectionId: String) {
        state.withLock { $0.byConnection[connectionId, default: 0] += 1 }
    }

    func bumpAll() {
        state.withLock { $0.all += 1 }
    }
}
