/// A configuration problem found at start-up (or on reload). The message always names the key.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "configuration error: \(key): \(message)" }
}
