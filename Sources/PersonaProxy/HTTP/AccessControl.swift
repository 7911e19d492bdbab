/// Who may call, decided before any route runs. Pure: from the request's method, path and a few
/// headers, and the configured clients (read per request, so a reload adds or revokes clients).
///
/// - With clients configured, every route but `/healthz` and `/readyz` (and `/metrics`, unless
///   `server.metrics_require_token`) needs `Authorization: Bearer <token>` of a client with the
///   route's scope: 401 in Persona's shape without one, 403 without the scope.
/// - Without clients the proxy is loopback-only (start-up refuses anything else), and refuses a
///   `Host` that is not a loopback name or address (DNS rebinding) and any `Origin` (a browser's
///   request, CSRF): a page in a browser on the proxy's host cannot deactivate a connection.
public struct AccessControl: Sendable {
    public enum Decision: Sendable, Equatable {
        /// Go ahead; the request log, the metrics and Persona's `User-Agent` name this caller.
        /// `client` is the authenticated client, when clients are configured.
        case allow(callerName: String, client: ClientConfiguration? = nil)
        case refuse(ProxyError)
    }

    /// The per-client metrics label for a decision: the client's name, `local` without clients,
    /// `unauthenticated` when no token matched; nil for an open route reached without a token.
    public func metricsLabel(_ decision: Decision, authorization: String?) -> String? {
        if clients.isEmpty { return BudgetShare.local.client }
        switch decision {
        case .allow(_, let client): return client?.name
        case .refuse(let error) where error.status == 401: return "unauthenticated"
        case .refuse: return Self.bearerToken(authorization).flatMap(match)?.name
        }
    }

    let clients: [ClientConfiguration]
    let metricsRequireToken: Bool

    public init(clients: [ClientConfiguration], metricsRequireToken: Bool = false) {
        self.clients = clients
        self.metricsRequireToken = metricsRequireToken
    }

    public func decide(
        method: String, path: Substring, authorization: String?, host: String?, origin: String?, clientName: String?, peer: String?
    ) -> Decision {
        decide(
            Self.requiredScope(method: method, path: path, metricsRequireToken: metricsRequireToken), method: method, path: path,
            authorization: authorization, host: host, origin: origin, clientName: clientName, peer: peer)
    }

    /// The same decision for a request whose route's requirement is already known (the hit fast
    /// path only ever sees `GET /api/v1/connect/connections/…`, which needs `read`).
    func decide(
        _ scope: Requirement?, method: String, path: Substring, authorization: String?, host: String?, origin: String?, clientName: String?,
        peer: String?
    ) -> Decision {
        let subName = clientName.map(CallerIdentity.sanitise).flatMap { $0.isEmpty ? nil : $0 }
        guard !clients.isEmpty else {
            if scope != nil {
                if origin != nil {
                    return .refuse(ProxyError(status: 403, title: "Forbidden", details: "Requests from a browser (an Origin header) are refused: no clients are configured, so persona-proxy serves loopback callers only."))
                }
                if let host, !Self.isLoopback(host: host) {
                    return .refuse(ProxyError(status: 403, title: "Forbidden", details: "Host \(host.prefix(100)) is not a loopback name: no clients are configured, so persona-proxy serves loopback callers only."))
                }
            }
            return .allow(callerName: subName ?? peer ?? "unknown")
        }
        guard let scope else { return .allow(callerName: subName ?? peer ?? "unknown") }
        guard let token = Self.bearerToken(authorization), let client = match(token) else {
            return .refuse(ProxyError(status: 401, title: "Must be authenticated to access this endpoint", headers: [(name: "WWW-Authenticate", value: "Bearer")]))
        }
        guard scope == .any || client.scopes.contains(scope.scope!) else {
            return .refuse(ProxyError(status: 403, title: "Forbidden", details: "Client \(client.name) lacks the \(scope.scope!.rawValue) scope for \(method) \(path.prefix(120))."))
        }
        return .allow(callerName: client.name + (subName.map { "/" + $0 } ?? ""), client: client)
    }

    /// The scope a route needs; nil for routes open to anyone.
    enum Requirement: Equatable {
        case any
        case scope(ClientConfiguration.Scope)
        var scope: ClientConfiguration.Scope? { if case .scope(let scope) = self { scope } else { nil } }
    }

    static func requiredScope(method: String, path: Substring, metricsRequireToken: Bool) -> Requirement? {
        switch path {
        case "/healthz", "/readyz": return nil
        case "/metrics": return metricsRequireToken ? .any : nil
        default:
            if path == "/admin" || path.hasPrefix("/admin/") { return .scope(.admin) }
            return method == "POST" ? .scope(.write) : .scope(.read)
        }
    }

    /// Compares against every client without stopping at the first match, byte by byte without an
    /// early exit, so the time taken says nothing about which hash, or how much of it, matched.
    func match(_ token: Substring) -> ClientConfiguration? {
        let digest = ClientConfiguration.hash(token: String(token))
        var found: Int?
        for (index, client) in clients.enumerated() {
            var difference: UInt8 = 0
            for (a, b) in zip(digest, client.tokenSHA256) { difference |= a ^ b }
            if difference == 0, client.tokenSHA256.count == digest.count { found = index }
        }
        return found.map { clients[$0] }
    }

    static func bearerToken(_ header: String?) -> Substring? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else { return nil }
        return parts[1]
    }

    /// `localhost`, `*.localhost`, 127.0.0.0/8 and ::1, with or without a port. Read as bytes
    /// without copying: it runs for every request without clients (a hit's share of the CPU).
    public static func isLoopback(host: String) -> Bool {
        host.utf8.withContiguousStorageIfAvailable(isLoopback) ?? isLoopback(Array(host.utf8).withUnsafeBufferPointer { $0 })
    }

    private static func isLoopback(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var name = bytes[...]
        if name.first == UInt8(ascii: "[") {
            guard let end = name.firstIndex(of: UInt8(ascii: "]")) else { return false }
            return name[(name.startIndex + 1)..<end].elementsEqual("::1".utf8)
        }
        if let colon = name.lastIndex(of: UInt8(ascii: ":")) { name = name[..<colon] }
        func lowercased(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }
        let localhost = "localhost".utf8
        if name.count >= localhost.count, name.suffix(localhost.count).lazy.map(lowercased).elementsEqual(localhost),
            name.count == localhost.count || name[name.endIndex - localhost.count - 1] == UInt8(ascii: ".")
        {
            return true
        }
        // Four decimal octets of at most 255, the first 127.
        var octets = 0
        var value = 0
        var digits = 0
        var first = 0
        for byte in name {
            if byte == UInt8(ascii: ".") {
                guard digits > 0 else { return false }
                if octets == 0 { first = value }
                octets += 1
                (value, digits) = (0, 0)
            } else if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard value <= 255, digits <= 3 else { return false }
            } else {
                return false
            }
        }
        return octets == 3 && digits > 0 && first == 127
    }
}
