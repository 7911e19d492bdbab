import Foundation

/// The Persona API key. Its descriptions are redacted so that it cannot reach a log line, an
/// error message or `check-config` output by accident; only `HTTPPersonaClient` calls `reveal()`.
public struct APIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String
    /// Where it was read from, for start-up logs ("credential persona-api-key", …).
    public let source: String

    public init(_ value: String, source: String) {
        self.value = value
        self.source = source
    }

    public func reveal() -> String { value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    /// `dump()` and debuggers show the source only.
    public var customMirror: Mirror { Mirror(self, children: ["source": source]) }
}
