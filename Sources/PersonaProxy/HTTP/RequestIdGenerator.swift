import Synchronization

/// The proxy's own request ids, `ppx_` and 22 characters of `[0-9a-z]`: ten random ones chosen
/// when the process starts, then a 12-digit counter. Unique within the process by construction
/// and across processes by the random part (36^10 ≈ 3.7 × 10^15), and cheap: the previous form
/// drew 22 random numbers from the kernel for every request, which cost more than the rest of a
/// hit. Ids that grow (like UUIDv7's) also keep the request log's `request_id` index appending at
/// its right edge instead of touching a random page per row.
///
/// Ids are identifiers, not secrets: what a request id can reach (`/admin/requests/{id}`) needs
/// the admin scope.
public final class RequestIdGenerator: Sendable {
    public static let shared = RequestIdGenerator()

    private static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
    private let prefix: [UInt8]
    private let counter = Atomic<UInt64>(0)

    public init() {
        var generator = SystemRandomNumberGenerator()
        prefix = Array("ppx_".utf8) + (0..<10).map { _ in Self.alphabet[Int(generator.next(upperBound: UInt8(Self.alphabet.count)))] }
    }

    public func next() -> String {
        var value = counter.add(1, ordering: .relaxed).newValue
        return String(unsafeUninitializedCapacity: 26) { buffer in
            for (index, byte) in prefix.enumerated() { buffer[index] = byte }
            // 12 base-36 digits hold 4.7 × 10^18 ids: more than a process will ever issue.
            for index in stride(from: 25, through: 14, by: -1) {
                buffer[index] = Self.alphabet[Int(value % 36)]
                value /= 36
            }
            return 26
        }
    }
}
