/// Identifies one variant of one connection from one upstream. Two requests share bytes only
/// when every part that can change Persona's answer is equal: the upstream (base URL and key,
/// as a fingerprint), the id, the effective `Persona-Version`, `Key-Inflection` and the
/// normalised sparse fieldsets.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    public var connectionId: String
    /// Empty when neither the caller nor the config pins a version (the key's own default applies).
    public var personaVersion: String
    /// Empty when the caller sent none (the key's dashboard default applies, which may differ from kebab).
    public var keyInflection: String
    /// Normalised `fields[...]` query, e.g. `fields[connect/connection]=created-at,status`; empty for all.
    public var fields: String
    /// `UpstreamIdentity.fingerprint` of the base URL and key that produced the answer.
    public var upstream: String

    public init(connectionId: String, personaVersion: String, keyInflection: String, fields: String, upstream: String = "") {
        self.connectionId = connectionId
        self.personaVersion = personaVersion
        self.keyInflection = keyInflection
        self.fields = fields
        self.upstream = upstream
    }

    /// The variant part alone, as stored beside the id in SQLite and shown by admin tools.
    public var variant: String {
        "u=\(upstream);v=\(personaVersion);i=\(keyInflection);f=\(fields)"
    }

    /// One string that round-trips the whole key; the SQLite primary key.
    public var storageKey: String { "\(connectionId)|\(variant)" }

    /// The row id of the key's entry in SQLite: FNV-1a (64-bit) of `storageKey`'s UTF-8, the same
    /// in every process. Two keys with one hash cannot both be stored (storing one replaces the
    /// other; a read checks the key too), which at 2^-64 per pair costs at worst one extra miss.
    public var storageHash: Int64 {
        var key = storageKey
        return key.withUTF8 { Self.fnv1a($0) }
    }

    static func fnv1a(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    public var description: String { storageKey }
}
