/// Persona's `RateLimit-*` headers, parsed and checked. A value that is not a plain number, or is
/// infinite, NaN, negative or absurd, is treated as absent (and named in `rejected`): one
/// misbehaving answer must neither crash the process nor stop every call for days.
public struct RateLimitHeaders: Sendable, Equatable {
    public var limit: Int?
    public var remaining: Int?
    /// Seconds until the window resets.
    public var reset: Double?
    /// The headers that were present but unusable.
    public var rejected: [String]

    /// No window Persona documents is longer than a minute; a day is far beyond any real one.
    public static let maxResetSeconds: Double = 86_400
    /// Far above any real budget, far below anything that could overflow arithmetic.
    public static let maxCount = 100_000_000

    public init(limit: Int? = nil, remaining: Int? = nil, reset: Double? = nil, rejected: [String] = []) {
        self.limit = limit
        self.remaining = remaining
        self.reset = reset
        self.rejected = rejected
    }

    public init(limit: String?, remaining: String?, reset: String?) {
        self.init()
        self.limit = Self.count(limit, name: "RateLimit-Limit", minimum: 1, rejected: &rejected)
        self.remaining = Self.count(remaining, name: "RateLimit-Remaining", minimum: 0, rejected: &rejected)
        if let raw = reset?.trimmed, !raw.isEmpty {
            // Plain decimal seconds only: Double() would also take "inf", "nan", "1e300" and "0x10".
            if Self.isPlainDecimal(raw), let value = Double(raw), value <= Self.maxResetSeconds {
                self.reset = value
            } else {
                rejected.append("RateLimit-Reset")
            }
        }
    }

    public init(_ response: UpstreamResponse) {
        self.init(limit: response.header("RateLimit-Limit"), remaining: response.header("RateLimit-Remaining"), reset: response.header("RateLimit-Reset"))
    }

    private static func isPlainDecimal(_ text: String) -> Bool {
        var dots = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") { dots += 1 } else if !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { return false }
        }
        return dots <= 1 && text.utf8.count <= 16 && text != "."
    }

    private static func count(_ raw: String?, name: String, minimum: Int, rejected: inout [String]) -> Int? {
        guard let raw = raw?.trimmed, !raw.isEmpty else { return nil }
        guard let value = Int(raw), value >= minimum, value <= maxCount else {
            rejected.append(name)
            return nil
        }
        return value
    }
}
