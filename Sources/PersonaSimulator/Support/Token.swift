/// Persona-style object ids: a prefix and 22 letters or digits.
enum Token {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// A fresh id, e.g. for `Request-Id` and created connections.
    static func random(prefix: String, length: Int = 22) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(prefix: prefix, length: length, using: &generator)
    }

    /// The same id for the same seed on every run and every Swift version: `next() % 62` is used
    /// instead of `Int.random(in:using:)`, whose algorithm the standard library may change.
    static func deterministic(prefix: String, seed: UInt64, length: Int = 22) -> String {
        var generator = SplitMix64(state: seed)
        return make(prefix: prefix, length: length, using: &generator)
    }

    private static func make(prefix: String, length: Int, using generator: inout some RandomNumberGenerator) -> String {
        var bytes = Array(prefix.utf8)
        for _ in 0..<length {
            bytes.append(alphabet[Int(generator.next() % UInt64(alphabet.count))])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Small, well-known generator; only its determinism matters here.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
