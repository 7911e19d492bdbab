import Foundation

/// The packed form of one commit's hits (`request_log_hit_batches`): a JSON array holding, per
/// hit, an array of `request_log`'s columns in order — id, request id, received at, caller,
/// method, path, connection id, cache outcome, status, Persona request id, duration (ms), caller
/// request id — plus the bounds that find the batch again: its request-id interval and its received-at
/// interval. Pure: `SQLiteRequestLogStore` gives it ids and stores it.
///
/// Encoding a hit is a few appends to one byte array; storing it was a table insert and three
/// index inserts.
struct RequestLogHitBatch {
    private(set) var json: [UInt8] = [UInt8(ascii: "[")]
    private(set) var count = 0
    private(set) var firstId: Int64 = 0
    private(set) var lastId: Int64 = 0
    private(set) var firstRequestId = ""
    private(set) var lastRequestId = ""
    private(set) var firstReceivedAt = Double.infinity
    private(set) var lastReceivedAt = -Double.infinity

    init(reservingCapacity hits: Int = 0) {
        json.reserveCapacity(1 + hits * 200)
    }

    /// Whether a record may be packed: it made no upstream call (nothing in `upstream_attempts`
    /// refers to it) and carries no caller request id (found through `request_log_rows`' index).
    static func packs(_ record: RequestLogRecord) -> Bool {
        record.attempts.isEmpty && record.callerRequestId == nil
    }

    /// - Parameter id: the record's row id; a commit hands them out in order.
    mutating func append(_ record: RequestLogRecord, id: Int64) {
        if count > 0 { json.append(UInt8(ascii: ",")) }
        json.append(UInt8(ascii: "["))
        json.append(contentsOf: String(id).utf8)
        comma()
        string(record.requestId)
        comma()
        number(record.receivedAt.timeIntervalSince1970)
        comma()
        string(record.caller)
        comma()
        string(record.method)
        comma()
        string(record.path)
        comma()
        string(record.connectionId)
        comma()
        string(record.cacheOutcome)
        comma()
        json.append(contentsOf: String(record.status).utf8)
        comma()
        string(record.personaRequestId)
        comma()
        number(record.durationMs)
        comma()
        string(record.callerRequestId)
        json.append(UInt8(ascii: "]"))
        count += 1
        if count == 1 { firstId = id }
        lastId = id
        if count == 1 || record.requestId < firstRequestId { firstRequestId = record.requestId }
        if record.requestId > lastRequestId { lastRequestId = record.requestId }
        firstReceivedAt = min(firstReceivedAt, record.receivedAt.timeIntervalSince1970)
        lastReceivedAt = max(lastReceivedAt, record.receivedAt.timeIntervalSince1970)
    }

    /// The stored text (the closing bracket added).
    var text: String {
        var bytes = json
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func comma() { json.append(UInt8(ascii: ",")) }

    /// Shortest round-trip form; a time or duration is never NaN or infinite.
    private mutating func number(_ value: Double) {
        json.append(contentsOf: (value.isFinite ? value : 0).description.utf8)
    }

    private mutating func string(_ value: String?) {
        guard let value else {
            json.append(contentsOf: "null".utf8)
            return
        }
        json.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): json.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): json.append(contentsOf: #"\\"#.utf8)
            case 0..<0x20:
                json.append(contentsOf: #"\u00"#.utf8)
                json.append(Self.hex[Int(byte >> 4)])
                json.append(Self.hex[Int(byte & 0xF)])
            default: json.append(byte)
            }
        }
        json.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)
}
