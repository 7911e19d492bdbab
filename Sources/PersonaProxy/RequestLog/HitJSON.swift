/// A packed hit's JSON (`RequestLogHitBatch`) without its row id: `,"request id",received at,…]`,
/// the rest of the hit's array once the id that opens it is known. The queue holds it as the event
/// loop made it, so the writer's thread copies it into a batch instead of formatting every field
/// again (see `RecordBytes`).
enum HitJSON {
    /// Appends the fragment for `record` to `json`: its columns after the id, then the closing bracket.
    static func appendFragment(of record: RequestLogRecord, to json: inout [UInt8]) {
        json.append(UInt8(ascii: ","))
        string(record.requestId, to: &json)
        json.append(UInt8(ascii: ","))
        // To the microsecond, like the durations: Swift's shortest round-trip form of a Double
        // was the writer's costliest step.
        fixed(record.receivedAt.timeIntervalSince1970, scale: 1_000_000, digits: 6, to: &json)
        json.append(UInt8(ascii: ","))
        string(record.caller, to: &json)
        json.append(UInt8(ascii: ","))
        string(record.method, to: &json)
        json.append(UInt8(ascii: ","))
        string(record.path, to: &json)
        json.append(UInt8(ascii: ","))
        string(record.connectionId, to: &json)
        json.append(UInt8(ascii: ","))
        string(record.cacheOutcome, to: &json)
        json.append(UInt8(ascii: ","))
        integer(Int64(record.status), to: &json)
        json.append(UInt8(ascii: ","))
        string(record.personaRequestId, to: &json)
        json.append(UInt8(ascii: ","))
        fixed(record.durationMs, scale: 1000, digits: 3, to: &json)
        json.append(UInt8(ascii: ","))
        string(record.callerRequestId, to: &json)
        json.append(UInt8(ascii: "]"))
    }

    static func integer(_ value: Int64, to json: inout [UInt8]) {
        decimal(value) { json.append(contentsOf: $0) }
    }

    /// `value`'s decimal digits (a minus first if negative), in a buffer valid during `body`.
    static func decimal<T>(_ value: Int64, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        var magnitude = value.magnitude
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 21) { buffer in
            var start = 21
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                start -= 1
                buffer[start] = UInt8(ascii: "-")
            }
            return body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buffer[start...])))
        }
    }

    /// `value` rounded to `digits` decimals (`scale` = 10^digits), trailing zeros dropped; a time
    /// or a duration is never NaN or infinite, but either would be written as 0.
    static func fixed(_ value: Double, scale: Int64, digits: Int, to json: inout [UInt8]) {
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
        integer(Int64(whole), to: &json)
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

    static func string(_ value: String?, to json: inout [UInt8]) {
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
                    json.append(hex[Int(byte >> 4)])
                    json.append(hex[Int(byte & 0xF)])
                default: json.append(byte)
                }
            }
        }
        json.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)
}
