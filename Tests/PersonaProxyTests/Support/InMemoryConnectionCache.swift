import Foundation
import NIOCore
import PersonaProxy
import Synchronization

/// The in-memory twin of `ConnectionCache`: route tests drive HTTP alone with it. Retrieves are
/// answered from `entries` (a hit) or from `missResult`; writes answer with `writeResult` and are
/// recorded, as are purges.
final class InMemoryConnectionCache: ConnectionCache {
    struct State {
        var entries: [String: CachedEntry] = [:]
        var writes: [(write: ConnectionWrite, caller: CallerIdentity)] = []
        var purged: [String] = []
        var missResult: ReadResult = ReadResult(outcome: .failed(.unreachable("no script")), source: .none, forward: .miss)
        var writeResult: @Sendable (ConnectionWrite) -> WriteResult = { write in
            WriteResult(result: .failed(.unreachable("no script")), calls: [], idempotencyKey: write.idempotencyKey ?? "ppx-twin")
        }
        var storageFailure: StorageError?
    }

    let state = Mutex(State())

    func retrieve(_ request: ConnectionRequest, directives: CacheDirectives, caller: CallerIdentity) async throws(StorageError) -> ReadResult {
        let (entry, miss, failure) = state.withLock { ($0.entries[request.connectionId], $0.missResult, $0.storageFailure) }
        if let failure { throw failure }
        guard let entry else { return miss }
        return ReadResult(outcome: .hit, source: .entry(entry, age: 0), ttl: 300)
    }

    func write(_ write: ConnectionWrite, caller: CallerIdentity) async -> WriteResult {
        state.withLock { state in
            state.writes.append((write, caller))
            return state.writeResult(write)
        }
    }

    func purge(connectionId: String) async throws(StorageError) -> Int {
        state.withLock { state in
            state.purged.append(connectionId)
            return state.entries.removeValue(forKey: connectionId) == nil ? 0 : 1
        }
    }

    func purgeEverything() async throws(StorageError) -> Int {
        state.withLock { state in
            defer { state.entries = [:] }
            return state.entries.count
        }
    }

    func variants(connectionId: String) async throws(StorageError) -> [CachedEntry] {
        state.withLock { state in state.entries[connectionId].map { [$0] } ?? [] }
    }

    func statistics() async throws(StorageError) -> CacheStatistics {
        state.withLock { CacheStatistics(entries: $0.entries.count, fresh: $0.entries.count, notFound: 0, bodyBytes: 0, databaseBytes: 0) }
    }

    func entryCount() async throws(StorageError) -> Int {
        state.withLock { $0.entries.count }
    }
}
