import Foundation

/// The packed form of a commit's hits, 2048 records' worth at most (`request_log_hit_batches`):
/// a JSON array holding, per hit, an array of `request_log`'s columns in order — id, request id,
/// received at, caller, method, path, connection id, cache outcome, status, Persona request id,
/// duration (ms), caller request id — plus the bounds that find the batch again: its request-id
/// interval and its received-at interval. Pure: `SQLiteRequestLogStore` gives it ids and stores it.
///
/// Encoding a hit is its id and a copy of the rest of its array, which the event loop formatted
/// when it queued the hit (`HitJSON`); storing it was a table insert and three index inserts.
struct RequestLogHitBatch {
    /// The array so far, closed: `[]`, `[[…]]`, `[[…],[…]]`.
    private(set) var json: [UInt8] = Array("[]".utf8)
    private(set) var count = 0
    private(set) var firstId: Int64 = 0
    private(set) var lastId: Int64 = 0
    /// The smallest and largest request ids, as bytes: SQLite compares text byte by byte.
    private(set) var firstRequestIdBytes: [UInt8] = []
    private(set) var lastRequestIdBytes: [UInt8] = []
    private(set) var firstReceivedAt = Double.infinity
    private(set) var lastReceivedAt = -Double.infinity

    /// The most records one batch is made from (`SQLiteRequestLogStore` splits a larger commit):
    /// a query decodes a batch whole to find one hit in it, about 1.6 µs a hit here.
    static let maxRecords = 2048

    init(reservingCapacity hits: Int = 0) {
        json.reserveCapacity(2 + hits * 200)
    }

    /// Whether a record may be packed: it made no upstream call (nothing in `upstream_attempts`
    /// refers to it) and carries no caller request id (found through `request_log_rows`' index).
    static func packs(_ record: RequestLogRecord) -> Bool {
        record.attempts.isEmpty && record.callerRequestId == nil
    }

    /// Appends one hit from its `HitJSON` fragment.
    /// - Parameter id: the record's row id; a commit hands them out in order.
    mutating func append(fragment: UnsafeRawBufferPointer, id: Int64, requestId: UnsafeRawBufferPointer, receivedAt: Double) {
        json.removeLast()
        if count > 0 { json.append(UInt8(ascii: ",")) }
        json.append(UInt8(ascii: "["))
        HitJSON.integer(id, to: &json)
        json.append(contentsOf: fragment)
        json.append(UInt8(ascii: "]"))
        count += 1
        if count == 1 { firstId = id }
        lastId = id
        if count == 1 || Self.compare(requestId, firstRequestIdBytes) < 0 { Self.replace(&firstRequestIdBytes, with: requestId) }
        if count == 1 || Self.compare(requestId, lastRequestIdBytes) > 0 { Self.replace(&lastRequestIdBytes, with: requestId) }
        firstReceivedAt = min(firstReceivedAt, receivedAt)
        lastReceivedAt = max(lastReceivedAt, receivedAt)
    }

    /// Byte order, as SQLite's BINARY collation compares text: negative, zero or positive.
    static func compare(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Int {
        let common = min(left.count, right.count)
        if common > 0 {
            let order = memcmp(left.baseAddress!, right.baseAddress!, common)
            if order != 0 { return Int(order) }
        }
        return left.count - right.count
    }

    private static func compare(_ left: UnsafeRawBufferPointer, _ right: [UInt8]) -> Int {
        right.withUnsafeBytes { compare(left, $0) }
    }

    private static func replace(_ bytes: inout [UInt8], with value: UnsafeRawBufferPointer) {
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: value)
    }
}
