/// A Bloom filter of the connection ids and Persona request ids in one batch of packed hits
/// (`request_log_batch_filters`). Pure.
///
/// Group rows (`request_log_groups`) cost one index insert per distinct value and commit. When a
/// commit's hits name many connections (a job that reads every connection once: each entry also
/// names the Persona request that filled it), those inserts land on random pages of a growing
/// index: at a million cached connections hit at random, the writer took more than half a core for
/// 33 000 hits a second, mostly reading and writing index pages. Past `groupedUpTo` distinct values
/// of a kind a batch stores this filter instead, appended in id order like the batch itself; a query
/// by that kind tests each batch's filter and reads only the batches that may hold the value (a
/// false positive, ~0.3 %, costs a substring search of the batch's text).
struct BatchFilter {
    /// A batch with more distinct values of a filtered kind than this among its packed hits keeps
    /// them in its filter.
    static let groupedUpTo = 32

    /// The kinds a filter can hold, as the `kinds` bits of its row.
    static let kinds: [(kind: RequestLogGroupKind, bit: Int)] = [(.connectionId, 1), (.personaRequestId, 2)]

    static func bit(of kind: RequestLogGroupKind) -> Int? { kinds.first { $0.kind == kind }?.bit }
    static let bitsPerValue = 12
    static let probes = 8

    private(set) var words: [UInt64]

    init(capacity: Int) {
        words = Array(repeating: 0, count: max(1, (capacity * Self.bitsPerValue + 63) / 64))
    }

    mutating func insert(_ value: UnsafeRawBufferPointer, bit kind: Int) {
        let bits = words.count * 64
        var probe = Probe(value, kind: kind)
        for _ in 0..<Self.probes {
            let bit = probe.next(bits)
            words[bit >> 6] |= 1 << UInt64(bit & 63)
        }
    }

    /// The stored form: the words, little-endian.
    var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(words.count * 8)
        for word in words { withUnsafeBytes(of: word.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    /// Whether a stored filter may hold `value`: false means it certainly does not.
    static func mayContain(_ value: UnsafeRawBufferPointer, bit kind: Int, filter: UnsafeRawBufferPointer) -> Bool {
        guard filter.count >= 8, filter.count % 8 == 0 else { return true }
        let bits = filter.count * 8
        var probe = Probe(value, kind: kind)
        for _ in 0..<probes {
            let bit = probe.next(bits)
            let word = UInt64(littleEndian: filter.loadUnaligned(fromByteOffset: (bit >> 6) * 8, as: UInt64.self))
            if word & (1 << UInt64(bit & 63)) == 0 { return false }
        }
        return true
    }

    /// Double hashing over one 64-bit hash: FNV-1a of the kind's bit and the value, then a
    /// finaliser that spreads its bits.
    private struct Probe {
        var position: UInt64
        let step: UInt64

        init(_ value: UnsafeRawBufferPointer, kind: Int) {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            hash ^= UInt64(kind)
            hash = hash &* 0x0000_0100_0000_01b3
            for byte in value {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01b3
            }
            hash ^= hash >> 33
            hash = hash &* 0xff51_afd7_ed55_8ccd
            hash ^= hash >> 33
            hash = hash &* 0xc4ce_b9fe_1a85_ec53
            hash ^= hash >> 33
            position = hash & 0xffff_ffff
            step = (hash >> 32) | 1
        }

        mutating func next(_ bits: Int) -> Int {
            defer { position = position &+ step }
            return Int(position % UInt64(bits))
        }
    }
}
