import Hummingbird

/// An error answer in Persona's shape: `{"errors":[{"title":...,"details":...}]}`.
///
/// Endpoints throw it; the gateway turns it into the response (with the usual headers), so every
/// error a caller sees is one Persona could have sent.
struct PersonaError: Error, Sendable, Equatable {
    var status: HTTPResponse.Status
    var title: String
    var details: String?

    init(status: HTTPResponse.Status, title: String, details: String? = nil) {
        self.status = status
        self.title = title
        self.details = details
    }

    /// The exact body, compact, `title` before `details`.
    var body: [UInt8] {
        var error: [(key: String, value: JSONValue)] = [("title", .string(title))]
        if let details { error.append(("details", .string(details))) }
        return JSONValue.object([("errors", .array([.object(error)]))]).bytes
    }

    static let unauthorized = PersonaError(
        status: .unauthorized, title: "Must be authenticated to access this endpoint")

    static let recordNotFound = PersonaError(status: .notFound, title: "Record not found")

    /// For paths Persona has no route for.
    static let routeNotFound = PersonaError(status: .notFound, title: "Not found")

    static func rateLimited(limit: Int) -> PersonaError {
        PersonaError(
            status: .tooManyRequests,
            title: "Rate limit exceeded",
            details: "You have hit your rate limit of \(limit) requests / min. "
                + "Please reach out to support@withpersona.com if you need this changed."
        )
    }

    static func badRequest(_ details: String) -> PersonaError {
        PersonaError(status: .badRequest, title: "Bad Request", details: details)
    }

    static let idempotencyMismatch = PersonaError(
        status: .badRequest,
        title: "Idempotency error",
        details: "Idempotency-Key was already used with different request parameters"
    )

    static func conflict(_ details: String) -> PersonaError {
        PersonaError(status: .conflict, title: "Conflict", details: details)
    }
}
