/// Why a store could not do what it was asked. Storage knows nothing of HTTP: the HTTP layer
/// turns this into a Persona-shaped 503.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database is not open (not yet, no longer, or it cannot be opened): the reason says why.
    case unavailable(String)
    /// The database is open but the operation failed (disk full, locked past the busy timeout…).
    case failed(String)

    public var description: String {
        switch self {
        case .unavailable(let reason), .failed(let reason): reason
        }
    }

    /// Any error from a store, as a `StorageError`.
    public static func wrapping(_ error: any Error) -> StorageError {
        (error as? StorageError) ?? .failed(String(String(describing: error).prefix(300)))
    }
}
