import CSupport

#if canImport(Glibc)
import Glibc
#endif

/// Finds hits in a batch's JSON text (`RequestLogHitBatch`: `[[…],[…],…]`, each hit an array of
/// scalars) without decoding the batch: the hits whose bytes hold a given string. A value that few
/// hits of a batch hold (a connection among thousands) costs a substring search (glibc's memmem)
/// and one pass over the bytes that jumps from quote to quote (memchr), where `json_each` over the
/// whole batch made an SQL value of every hit (~2 ms for 2 048 hits here). SQLite then decodes only
/// the hits found, so what they say is decided as before; a hit found here that does not really
/// match (the string inside another string) is dropped there.
enum BatchText {
    /// The byte ranges of the hits that contain `needle`, in batch order; `needle` must be non-empty.
    static func hits(in text: UnsafeRawBufferPointer, containing needle: UnsafeRawBufferPointer) -> [Range<Int>] {
        guard let base = text.baseAddress, let pattern = needle.baseAddress, !needle.isEmpty else { return [] }
        // Where the needle starts, in order.
        var starts: [Int] = []
        var from = 0
        while from < text.count, let found = ppx_memmem(base + from, text.count - from, pattern, needle.count) {
            let offset = base.distance(to: found)
            starts.append(offset)
            from = offset + 1
        }
        guard !starts.isEmpty else { return [] }

        let bytes = text.bindMemory(to: UInt8.self)
        var ranges: [Range<Int>] = []
        var next = 0
        var depth = 0
        var inString = false
        var hitStart = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                // Most of a batch is strings: on to the quote that ends this one (memchr), past any
                // quote escaped by an odd run of backslashes.
                guard let end = closingQuote(text, from: index) else { break }
                inString = false
                index = end + 1
                continue
            } else if byte == quote {
                inString = true
            } else if byte == open {
                depth += 1
                if depth == 2 { hitStart = index }
            } else if byte == close {
                if depth == 2 {
                    while next < starts.count, starts[next] < hitStart { next += 1 }
                    if next < starts.count, starts[next] < index {
                        ranges.append(hitStart..<(index + 1))
                        while next < starts.count, starts[next] < index { next += 1 }
                    }
                    if next == starts.count { break }
                }
                depth -= 1
            }
            index += 1
        }
        return ranges
    }

    /// The quote that closes the string whose contents start at `start`; nil if none does.
    private static func closingQuote(_ text: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = text.baseAddress else { return nil }
        var from = start
        while from < text.count, let found = memchr(base + from, Int32(quote), text.count - from) {
            let offset = base.distance(to: UnsafeRawPointer(found))
            var backslashes = 0
            while offset - backslashes - 1 >= start, text[offset - backslashes - 1] == backslash { backslashes += 1 }
            if backslashes % 2 == 0 { return offset }
            from = offset + 1
        }
        return nil
    }

    /// The hits at `ranges` of `text` as one JSON array: `[…,…]`.
    static func array(of ranges: [Range<Int>], in text: UnsafeRawBufferPointer) -> [UInt8] {
        var out: [UInt8] = [open]
        out.reserveCapacity(2 + ranges.reduce(0) { $0 + $1.count + 1 })
        for (offset, range) in ranges.enumerated() {
            if offset > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[range]))
        }
        out.append(close)
        return out
    }

    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")
    private static let open = UInt8(ascii: "[")
    private static let close = UInt8(ascii: "]")
}
