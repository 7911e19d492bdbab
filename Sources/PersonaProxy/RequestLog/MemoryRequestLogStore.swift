import Synchronization

/// In-memory `RequestLogStore` for tests.
public final class MemoryRequestLogStore: RequestLogStore {
    private let records = Mutex<[RequestLogRecord]>([])

    public init() {}

    public func append(_ record: RequestLogRecord) {
        records.withLock { $0.append(record) }
    }

    public func recent(limit: Int) -> [RequestLogRecord] {
        records.withLock { Array($0.reversed().prefix(limit)) }
    }

    public func records(personaRequestId: String) -> [RequestLogRecord] {
        records.withLock { all in
            all.reversed().filter { record in
                record.personaRequestId == personaRequestId || record.attempts.contains { $0.personaRequestId == personaRequestId }
            }
        }
    }
}
