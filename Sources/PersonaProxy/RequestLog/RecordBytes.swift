import Foundation

/// Queued request-log records as bytes: appended where the request was answered (an event loop)
/// and read back into `RequestLogRecord`s where they are committed (the writer's thread).
///
/// Queuing the records themselves made the writer free, at nice 19, the strings each event loop
/// had allocated (a request id and a path per hit). glibc returns such a chunk to the arena of the
/// thread that allocated it, under that arena's lock; an event loop that needed the lock while
/// the preempted writer held it waited for the writer to run again (strace: `FUTEX_WAIT` on the
/// arena's lock from the event loop, up to 0.45 ms). As bytes, a record's strings are allocated
/// and freed on the thread that made them, and the writer allocates and frees its own. The byte
/// arrays keep their capacity from one flush to the next, so the queue stops growing from
/// nothing (page faults on the event loop) and being unmapped by the writer each time.
struct RecordBytes: Sendable {
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ record: RequestLogRecord) {
        string(record.requestId)
        string(record.callerRequestId)
        double(record.receivedAt.timeIntervalSince1970)
        string(record.caller)
        string(record.method)
        string(record.path)
        string(record.connectionId)
        string(record.cacheOutcome)
        integer(Int64(record.status))
        string(record.personaRequestId)
        double(record.durationMs)
        integer(record.id ?? -1)
        integer(Int64(record.attempts.count))
        for attempt in record.attempts {
            integer(Int64(attempt.attempt))
            string(attempt.personaRequestId)
            integer(attempt.status.map(Int64.init) ?? -1)
            string(attempt.error)
            double(attempt.durationMs)
            double(attempt.waitedMs)
        }
        count += 1
    }

    /// Appends another queue's records after these, as bytes (no decoding).
    mutating func append(contentsOf other: RecordBytes) {
        bytes.append(contentsOf: other.bytes)
        count += other.count
    }

    /// Empties the queue and keeps its capacity.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        count = 0
    }

    /// The records, in the order appended.
    func records() -> [RequestLogRecord] {
        var reader = Reader(bytes: bytes)
        var records: [RequestLogRecord] = []
        records.reserveCapacity(count)
        for _ in 0..<count {
            let requestId = reader.string()!
            let callerRequestId = reader.string()
            let receivedAt = Date(timeIntervalSince1970: reader.double())
            let caller = reader.string()!
            let method = reader.string()!
            let path = reader.string()!
            let connectionId = reader.string()
            let cacheOutcome = reader.string()!
            let status = Int(reader.integer())
            let personaRequestId = reader.string()
            let durationMs = reader.double()
            let id = reader.integer()
            let attempts = (0..<Int(reader.integer())).map { _ in
                let attempt = Int(reader.integer())
                let personaRequestId = reader.string()
                let status = reader.integer()
                let error = reader.string()
                let durationMs = reader.double()
                return UpstreamAttempt(
                    attempt: attempt, personaRequestId: personaRequestId, status: status < 0 ? nil : Int(status), error: error,
                    durationMs: durationMs, waitedMs: reader.double())
            }
            records.append(
                RequestLogRecord(
                    requestId: requestId, receivedAt: receivedAt, caller: caller, method: method, path: path, connectionId: connectionId,
                    cacheOutcome: cacheOutcome, status: status, personaRequestId: personaRequestId, durationMs: durationMs, attempts: attempts,
                    id: id < 0 ? nil : id, callerRequestId: callerRequestId))
        }
        return records
    }

    private mutating func string(_ value: String?) {
        guard var value else {
            integer(-1)
            return
        }
        value.withUTF8 { utf8 in
            integer(Int64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    private mutating func integer(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func double(_ value: Double) {
        integer(Int64(bitPattern: value.bitPattern))
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func integer() -> Int64 {
            defer { offset += 8 }
            return bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: Int64.self)) }
        }

        mutating func double() -> Double {
            Double(bitPattern: UInt64(bitPattern: integer()))
        }

        mutating func string() -> String? {
            let length = Int(integer())
            guard length >= 0 else { return nil }
            defer { offset += length }
            return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
        }
    }
}
