/// A refusal the proxy itself makes, carrying the status and Persona's error shape so that
/// callers parse it exactly like one of Persona's own errors.
public struct ProxyError: Error, Sendable, Equatable {
    public var status: Int
    public var title: String
    public var details: String?
    /// Extra response headers (e.g. `Retry-After`).
    public var headers: [(name: String, value: String)]

    public init(status: Int, title: String, details: String? = nil, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.title = title
        self.details = details
        self.headers = headers
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.status == rhs.status && lhs.title == rhs.title && lhs.details == rhs.details
            && lhs.headers.elementsEqual(rhs.headers) { $0.name == $1.name && $0.value == $1.value }
    }

    public static func badRequest(_ details: String) -> ProxyError {
        ProxyError(status: 400, title: "Bad Request", details: details)
    }

    public static func notFound(_ details: String) -> ProxyError {
        ProxyError(status: 404, title: "Not found", details: details)
    }

    public static func upstreamUnreachable(_ details: String) -> ProxyError {
        ProxyError(status: 502, title: "Bad gateway", details: details)
    }

    public static func upstreamTimeout(_ details: String) -> ProxyError {
        ProxyError(status: 504, title: "Gateway timeout", details: details)
    }

    public static func unavailable(_ details: String) -> ProxyError {
        ProxyError(status: 503, title: "Service unavailable", details: details)
    }

    /// `{"errors":[{"title":...,"details":...}]}`, the shape of every Persona error.
    public var jsonBody: String { PersonaErrorDocument.json(title: title, details: details) }
}
