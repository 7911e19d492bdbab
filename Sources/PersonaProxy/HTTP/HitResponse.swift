import NIOCore
import NIOHTTP1

/// The bytes of a fast-path hit, byte for byte what the slow path sends (Hummingbird's header
/// names, values and order). What never changes for an entry — the status line and the headers
/// up to `Age` — is made once (`head`) and kept beside the entry in the memory tier; each hit
/// then copies it and fills in the rest in one pass over raw memory: `Age`, `Cache-Status`,
/// `Content-Length`, `X-Request-Id`, `Date`, then the body.
enum HitResponse {
    /// Status line and fixed headers, ending with `Age: ` (its value is the first per-hit byte).
    static func head(for entry: CachedEntry, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 256)
        out.writeString(entry.status == 200 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 \(entry.status) \(HTTPResponseStatus(statusCode: entry.status).reasonPhrase)\r\n")
        if let contentType = entry.contentType { out.writeHeader("Content-Type", contentType) }
        if let id = entry.personaRequestId { out.writeHeader("Request-Id", id) }
        if let id = entry.environmentId { out.writeHeader("Persona-Environment-Id", id) }
        if let id = entry.organizationId { out.writeHeader("Persona-Organization-Id", id) }
        out.writeStaticString("Age: ")
        return out
    }

    /// One whole answer: `head`, the per-hit headers, the body.
    static func answer(
        head: ByteBuffer, body: ByteBuffer, age: Int, ttl: Int, revalidated: Bool, requestId: String, date: String, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var requestId = requestId
        var date = date
        let detail = revalidated ? "; detail=\(CacheStatus.revalidatedBySweep)" : ""
        // Every piece below, at its longest: 20 digits per integer.
        let middle = 3 * 20 + detail.utf8.count + requestId.utf8.count + date.utf8.count + 128
        var out = allocator.buffer(capacity: head.readableBytes + middle + body.readableBytes)
        out.writeImmutableBuffer(head)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: middle) { raw in
            var writer = RawWriter(raw)
            writer.decimal(age)
            writer.append("\r\nCache-Status: persona-proxy; hit; ttl=")
            writer.decimal(ttl)
            if revalidated { writer.append(detail) }
            writer.append("\r\nContent-Length: ")
            writer.decimal(body.readableBytes)
            writer.append("\r\nX-Request-Id: ")
            writer.append(&requestId)
            writer.append("\r\nDate: ")
            writer.append(&date)
            writer.append("\r\n\r\n")
            return writer.count
        }
        out.writeImmutableBuffer(body)
        return out
    }
}

/// Appends to raw memory the caller sized; no capacity checks or reference counting per piece.
private struct RawWriter {
    let base: UnsafeMutableRawBufferPointer
    var count = 0

    init(_ base: UnsafeMutableRawBufferPointer) {
        self.base = base
    }

    mutating func append(_ text: StaticString) {
        precondition(count + text.utf8CodeUnitCount <= base.count)
        (base.baseAddress! + count).copyMemory(from: text.utf8Start, byteCount: text.utf8CodeUnitCount)
        count += text.utf8CodeUnitCount
    }

    mutating func append(_ text: inout String) {
        text.withUTF8 { bytes in
            precondition(count + bytes.count <= base.count)
            if let start = bytes.baseAddress { (base.baseAddress! + count).copyMemory(from: start, byteCount: bytes.count) }
            count += bytes.count
        }
    }

    mutating func append(_ text: String) {
        var text = text
        append(&text)
    }

    mutating func decimal(_ value: Int) {
        precondition(count + 20 <= base.count)
        if value < 0 {
            base[count] = UInt8(ascii: "-")
            count += 1
        }
        var magnitude = value.magnitude
        var digits = 1
        var probe = magnitude
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        for offset in stride(from: count + digits - 1, through: count, by: -1) {
            base[offset] = UInt8(ascii: "0") + UInt8(magnitude % 10)
            magnitude /= 10
        }
        count += digits
    }
}

extension ByteBuffer {
    fileprivate mutating func writeHeader(_ name: StaticString, _ value: String) {
        writeStaticString(name)
        writeStaticString(": ")
        writeString(value)
        writeStaticString("\r\n")
    }
}
