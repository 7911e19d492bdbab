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

    public var description: String { storageKey }
}
