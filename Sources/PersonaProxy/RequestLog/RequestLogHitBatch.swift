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
        integer(id)
        comma()
        string(record.requestId)
        comma()
        // To the microsecond, like the durations: Swift's shortest round-trip form of a Double
        // was the writer's costliest step.
        fixed(record.receivedAt.timeIntervalSince1970, scale: 1_000_000, digits: 6)
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
        integer(Int64(record.status))
        comma()
        string(record.personaRequestId)
        comma()
        fixed(record.durationMs, scale: 1000, digits: 3)
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

    private mutating func integer(_ value: Int64) {
        if value < 0 { json.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var start = 20
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            json.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start...]))
        }
    }

    /// `value` rounded to `digits` decimals (`scale` = 10^digits), trailing zeros dropped; a time
    /// or a duration is never NaN or infinite, but either would be written as 0.
    private mutating func fixed(_ value: Double, scale: Int64, digits: Int) {
        guard value.isFinite, abs(value) < 9e15 else {
            json.append(UInt8(ascii: "0"))
            return
        }
        if value < 0 { json.append(UInt8(ascii: "-")) }
        // Whole and fractional parts apart: their product with the scale would lose digits.
        var whole = abs(value).rounded(.down)
        var fraction = Int64(((abs(value) - whole) * Double(scale)).rounded())
        if fraction == scale {
            whole += 1
            fraction = 0
        }
        integer(Int64(whole))
        guard fraction > 0 else { return }
        var width = digits
        while fraction % 10 == 0 {
            fraction /= 10
            width -= 1
        }
        json.append(UInt8(ascii: "."))
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        while divisor > 0 {
            json.append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
            divisor /= 10
        }
    }

    private mutating func string(_ value: String?) {
        guard var value else {
            json.append(contentsOf: "null".utf8)
            return
        }
        json.append(UInt8(ascii: "\""))
        value.withUTF8 { bytes in
            // Ids, names and paths rarely hold a byte JSON must escape: copied whole when they don't.
            if !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                json.append(contentsOf: bytes)
                return
            }
            for byte in bytes {
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
        }
        json.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)
}
