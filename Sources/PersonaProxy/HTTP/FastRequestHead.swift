#if canImport(Glibc)
import Glibc
#endif

/// A strict reading of one HTTP/1.1 request head straight from the bytes a connection received,
/// for the hit fast path: only the request line and the headers that path looks at. Anything it
/// does not fully understand — another method or version, a line ending other than CRLF, a
/// folded or malformed header, a repeated header it reads, a body — makes it say so, and the
/// request goes to NIO's decoder and Hummingbird unchanged. Pure: bytes in, a value out.
public struct FastRequestHead: Equatable, Sendable {
    public enum Parse: Equatable, Sendable {
        /// A simple GET: its head is `length` bytes, and no body follows.
        case simple(FastRequestHead, length: Int)
        /// The head is not complete yet.
        case incomplete
        /// Not for the fast path: hand the connection's bytes to the usual decoder.
        case other
    }

    public var path: String
    public var host: String?
    public var authorization: String?
    public var origin: String?
    public var clientName: String?
    public var requestId: String?
    public var personaVersion: String?
    public var keyInflection: String?

    /// Headers that send a request the slow way whatever their value: a body, a directive,
    /// connection management, an upgrade.
    /// (`Connection` is allowed only as `keep-alive`, which many clients send on every request and
    /// which HTTP/1.1 implies anyway.)
    static let disqualifying: Set<String> = [
        "content-length", "transfer-encoding", "cache-control", "pragma", "expect", "upgrade", "te", "keep-alive",
    ]

    public static func parse(_ bytes: UnsafeRawBufferPointer, maxHeadBytes: Int) -> Parse {
        // Find the end of the head.
        let limit = min(bytes.count, maxHeadBytes)
        var end = -1
        var index = 0
        while index + 3 < limit {
            if bytes[index] == 13, bytes[index + 1] == 10, bytes[index + 2] == 13, bytes[index + 3] == 10 {
                end = index
                break
            }
            index += 1
        }
        guard end >= 0 else { return bytes.count >= maxHeadBytes ? .other : .incomplete }
        let prefix: StaticString = "GET /api/v1/connect/connections/"
        guard end > prefix.utf8CodeUnitCount + 9, matches(bytes, at: 0, prefix) else { return .other }
        // Request line: GET SP path SP HTTP/1.1 CRLF
        var cursor = 4
        let pathStart = cursor
        while cursor < end, bytes[cursor] != 32 {
            let byte = bytes[cursor]
            // Visible ASCII only; no query, fragment or escapes (those go the slow way).
            guard byte > 32, byte < 127, byte != UInt8(ascii: "?"), byte != UInt8(ascii: "#"), byte != UInt8(ascii: "%") else { return .other }
            cursor += 1
        }
        let path = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[pathStart..<cursor]), as: UTF8.self)
        let version: StaticString = " HTTP/1.1\r\n"
        guard cursor + version.utf8CodeUnitCount <= end + 2, matches(bytes, at: cursor, version) else { return .other }
        cursor += version.utf8CodeUnitCount
        var head = FastRequestHead(path: path)
        while cursor < end + 2 {
            // name ":" OWS value OWS CRLF
            let nameStart = cursor
            while cursor < end, bytes[cursor] != UInt8(ascii: ":") {
                guard isToken(bytes[cursor]) else { return .other }
                cursor += 1
            }
            guard cursor < end, cursor > nameStart else { return .other }
            let nameEnd = cursor
            cursor += 1
            while cursor < end, bytes[cursor] == 32 || bytes[cursor] == 9 { cursor += 1 }
            let valueStart = cursor
            while cursor < end + 2, bytes[cursor] != 13 {
                let byte = bytes[cursor]
                guard byte == 9 || (byte >= 32 && byte != 127) else { return .other }
                cursor += 1
            }
            guard cursor + 1 < end + 4, bytes[cursor] == 13, bytes[cursor + 1] == 10 else { return .other }
            var valueEnd = cursor
            while valueEnd > valueStart, bytes[valueEnd - 1] == 32 || bytes[valueEnd - 1] == 9 { valueEnd -= 1 }
            cursor += 2
            let name = lowercased(bytes, nameStart..<nameEnd)
            if disqualifying.contains(name) { return .other }
            let value = { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd]), as: UTF8.self) }
            switch name {
            case "connection": guard value().lowercased() == "keep-alive" else { return .other }
            case "host": guard head.host == nil else { return .other }; head.host = value()
            case "authorization": guard head.authorization == nil else { return .other }; head.authorization = value()
            case "origin": guard head.origin == nil else { return .other }; head.origin = value()
            case "x-client-name": guard head.clientName == nil else { return .other }; head.clientName = value()
            case "x-request-id": guard head.requestId == nil else { return .other }; head.requestId = value()
            case "persona-version": guard head.personaVersion == nil else { return .other }; head.personaVersion = value()
            case "key-inflection": guard head.keyInflection == nil else { return .other }; head.keyInflection = value()
            default: break
            }
        }
        guard head.host != nil else { return .other }
        return .simple(head, length: end + 4)
    }

    /// Whether `bytes` holds `text` at `offset` (the caller has checked that it fits).
    static func matches(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ text: StaticString) -> Bool {
        memcmp(bytes.baseAddress! + offset, text.utf8Start, text.utf8CodeUnitCount) == 0
    }

    /// RFC 9110 `tchar`.
    static func isToken(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "*"),
            UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    static func lowercased(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(unsafeUninitializedCapacity: range.count) { buffer in
            for (offset, index) in range.enumerated() {
                let byte = bytes[index]
                buffer[offset] = byte >= 65 && byte <= 90 ? byte + 32 : byte
            }
            return range.count
        }
    }
}
