public import Foundation
import Synchronization

/// In-memory `RequestLogStore`, the twin of `SQLiteRequestLogStore`.
public final class MemoryRequestLogStore: RequestLogStore {
    private struct State {
        var records: [RequestLogRecord] = []
        var nextId: Int64 = 1
    }

    private let state = Mutex(State())

    public init() {}

    public func append(_ records: [RequestLogRecord]) {
        state.withLock { state in
            for var record in records {
                record.id = state.nextId
                state.nextId += 1
                state.records.append(record)
            }
        }
    }

    public func appendBlocking(_ records: [RequestLogRecord]) {
        append(records)
    }

    public func query(_ query: RequestLogQuery) -> [RequestLogRecord] {
        state.withLock { Array($0.records.reversed().lazy.filter(query.matches).prefix(query.limit)) }
    }

    public func prune(receivedBefore cutoff: Date, maxRows: Int?, batch: Int) -> Int {
        state.withLock { state in
            let before = state.records.count
            state.records.removeAll { $0.receivedAt < cutoff }
            if let maxRows, state.records.count > maxRows { state.records.removeFirst(state.records.count - maxRows) }
            return before - state.records.count
        }
    }

    public func rowCount() -> Int { state.withLock { $0.records.count } }
}
