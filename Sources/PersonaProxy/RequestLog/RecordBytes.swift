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
///
/// A record that will be packed (`RequestLogHitBatch.packs`) also carries its packed JSON
/// (`HitJSON`), so the writer copies it instead of decoding the record and formatting it again;
/// `entries()` reads what the writer needs without making a string.
struct RecordBytes: Sendable {
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    init() {}

    init(_ records: [RequestLogRecord]) {
        for record in records { append(record) }
    }

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
        if RequestLogHitBatch.packs(record) {
            // Its length first, filled in once written.
            let lengthAt = bytes.count
            integer(0)
            HitJSON.appendFragment(of: record, to: &bytes)
            let length = Int64(bytes.count - lengthAt - 8)
            withUnsafeBytes(of: length.littleEndian) { length in
                bytes.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: lengthAt).copyMemory(from: length.baseAddress!, byteCount: 8) }
            }
        } else {
            integer(-1)
        }
        count += 1
    }

    /// Appends another queue's records after these, as bytes (no decoding).
    mutating func append(contentsOf other: RecordBytes) {
        bytes.append(contentsOf: other.bytes)
        count += other.count
    }

    /// Removes the first `k` records.
    mutating func removeFirst(_ k: Int) {
        guard k > 0 else { return }
        guard k < count else {
            removeAll()
            return
        }
        bytes.removeSubrange(0..<entries()[k].start)
        count -= k
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
        for _ in 0..<count { records.append(reader.record()) }
        return records
    }

    /// The record an entry stands for.
    func record(at entry: Entry) -> RequestLogRecord {
        var reader = Reader(bytes: bytes, offset: entry.start)
        return reader.record()
    }

    /// What the writer reads of one queued record without decoding it: where its fields are in
    /// `bytes`, and its packed JSON if it has one.
    struct Entry {
        /// Where the record starts: `record(at:)` decodes it from there.
        let start: Int
        let requestId: Range<Int>
        let receivedAt: Double
        let caller: Range<Int>
        let connectionId: Range<Int>?
        let status: Int
        let personaRequestId: Range<Int>?
        /// `HitJSON`'s fragment; nil for a record that is never packed.
        let fragment: Range<Int>?
    }

    /// The queued records' entries, in order.
    func entries() -> [Entry] {
        var reader = Reader(bytes: bytes)
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let start = reader.offset
            let requestId = reader.range()!
            _ = reader.range()
            let receivedAt = reader.double()
            let caller = reader.range()!
            _ = reader.range()
            _ = reader.range()
            let connectionId = reader.range()
            _ = reader.range()
            let status = Int(reader.integer())
            let personaRequestId = reader.range()
            reader.offset += 16  // duration, id
            for _ in 0..<reader.integer() {
                reader.offset += 8
                _ = reader.range()
                reader.offset += 8
                _ = reader.range()
                reader.offset += 16
            }
            let fragment = reader.range()
            entries.append(
                Entry(
                    start: start, requestId: requestId, receivedAt: receivedAt, caller: caller, connectionId: connectionId, status: status,
                    personaRequestId: personaRequestId, fragment: fragment))
        }
        return entries
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
            range().map { String(decoding: bytes[$0], as: UTF8.self) }
        }

        /// Decodes the record that starts here, its packed JSON skipped.
        mutating func record() -> RequestLogRecord {
            let requestId = string()!
            let callerRequestId = string()
            let receivedAt = Date(timeIntervalSince1970: double())
            let caller = string()!
            let method = string()!
            let path = string()!
            let connectionId = string()
            let cacheOutcome = string()!
            let status = Int(integer())
            let personaRequestId = string()
            let durationMs = double()
            let id = integer()
            let attempts = (0..<Int(integer())).map { _ in
                let attempt = Int(integer())
                let personaRequestId = string()
                let status = integer()
                let error = string()
                let durationMs = double()
                return UpstreamAttempt(
                    attempt: attempt, personaRequestId: personaRequestId, status: status < 0 ? nil : Int(status), error: error,
                    durationMs: durationMs, waitedMs: double())
            }
            _ = range()
            return RequestLogRecord(
                requestId: requestId, receivedAt: receivedAt, caller: caller, method: method, path: path, connectionId: connectionId,
                cacheOutcome: cacheOutcome, status: status, personaRequestId: personaRequestId, durationMs: durationMs, attempts: attempts,
                id: id < 0 ? nil : id, callerRequestId: callerRequestId)
        }

        /// Where a string's bytes are, without making it; nil for a nil string.
        mutating func range() -> Range<Int>? {
            let length = Int(integer())
            guard length >= 0 else { return nil }
            defer { offset += length }
            return offset..<offset + length
        }
    }
}
