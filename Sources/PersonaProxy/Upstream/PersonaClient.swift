public import NIOCore

/// The seam between the proxy and Persona. `HTTPPersonaClient` is the real one; tests use the
/// simulator over loopback or `ScriptedPersonaClient`.
///
/// The client owns the API key: callers of `send` never see it, and nothing they pass can
/// replace it (an `Authorization` in `headers` is dropped).
public protocol PersonaClient: Sendable {
    func send(_ request: UpstreamRequest) async throws(UpstreamError) -> UpstreamResponse
}

public struct UpstreamRequest: Sendable {
    public var method: String
    /// Path below the base URL, e.g. `/api/v1/connect/connections/cxn_ABC123`.
    public var path: String
    /// Already percent-encoded query string without `?`; empty for none.
    public var query: String
    public var headers: [(name: String, value: String)]
    public var body: ByteBuffer?
    /// Whose budget the call spends (never sent to Persona).
    public var share: BudgetShare

    public init(
        method: String, path: String, query: String = "", headers: [(name: String, value: String)] = [], body: ByteBuffer? = nil,
        share: BudgetShare = .local
    ) {
        self.share = share
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

public struct UpstreamResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: ByteBuffer

    public init(status: Int, headers: [(name: String, value: String)], body: ByteBuffer) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    public var personaRequestId: String? { header("Request-Id") }
}

/// Why no upstream answer arrived. Mapped to 502 and 504 at the HTTP edge.
public enum UpstreamError: Error, Sendable, Equatable {
    /// Connection refused, reset, DNS failure, TLS failure…: nothing usable came back.
    case unreachable(String)
    /// No complete answer within `upstream.timeout_seconds`.
    case timedOut(seconds: Double)
    /// The answer was larger than the proxy will hold.
    case responseTooLarge(limit: Int)
}

extension UpstreamError {
    /// One line for the request log and the service log.
    public var summary: String {
        switch self {
        case .timedOut(let seconds): "timed out after \(seconds.clean) s"
        case .unreachable(let reason): "unreachable: \(reason)"
        case .responseTooLarge(let limit): "response larger than \(limit) bytes"
        }
    }
}
