public import Logging

/// Decides how each request is recorded: a request that reached Persona (or was refused for
/// lack of budget) is committed before its response; a hit is queued for the batched writer,
/// or not recorded at all when `request_log.record_hits` is off.
public struct RequestRecorder: Sendable {
    let store: any RequestLogStore
    let hits: BatchedRequestLogWriter
    let recordHits: @Sendable () -> Bool

    public init(store: any RequestLogStore, hits: BatchedRequestLogWriter, recordHits: @escaping @Sendable () -> Bool) {
        self.store = store
        self.hits = hits
        self.recordHits = recordHits
    }

    /// A request answered from the cache, recorded without waiting (the fast path calls this on
    /// the event loop): queued for the batched writer, or dropped when hits are not recorded.
    public func recordAnsweredFromCache(_ record: RequestLogRecord) {
        if recordHits() { hits.enqueue(record) }
    }

    /// - Parameter durable: true when Persona saw a call for this request (or refused one).
    public func record(_ record: RequestLogRecord, durable: Bool, logger: Logger) async {
        guard durable else {
            if recordHits() { hits.enqueue(record) }
            return
        }
        do {
            try await store.append(record)
        } catch {
            // Degraded (a full disk, a lock): the caller is answered all the same, and the row waits
            // in the batched writer's queue until the database takes writes again.
            logger.warning("request log write failed; row queued for retry", metadata: ["request_id": "\(record.requestId)", "error": "\(error)"])
            hits.enqueue(record)
        }
    }
}
