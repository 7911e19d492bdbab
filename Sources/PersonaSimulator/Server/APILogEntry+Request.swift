import Hummingbird

extension APILogEntry {
    /// Only the schema's headers are kept; `Host` comes from the authority, where HTTP/1's Host
    /// header ends up. The peer address is not visible through `BasicRequestContext`, so the IP
    /// is `X-Forwarded-For`'s first entry or the loopback address the simulator normally serves.
    init(
        id: String,
        request: Request,
        body: [UInt8],
        status: Int,
        responseHeaders: [(name: String, value: JSONValue)],
        createdAt: Timestamp
    ) {
        var kept: [(name: String, value: String)] = []
        for name in Self.keptRequestHeaders {
            let value: String? =
                switch name {
                case "Host": request.head.authority
                case "Authorization": request.headers[.authorization].map { _ in Self.redactedAuthorization }
                default: HTTPFieldName(name).flatMap { request.headers[$0] }
                }
            if let value { kept.append((name, value)) }
        }
        let postParams = (try? JSONValue(parsing: body)).flatMap { $0.objectMembers.map(JSONValue.object) }
        let forwarded = request.headers[.forwardedFor]?.split(separator: ",").first.map { $0.trimmingSpaces }
        self.init(
            id: id,
            method: request.method.rawValue,
            path: request.uri.path,
            requestHeaders: kept,
            getParams: QueryParameters(request.uri.query).nestedJSON,
            postParams: postParams ?? .object([]),
            ipAddress: forwarded ?? "127.0.0.1",
            status: status,
            responseHeaders: responseHeaders,
            createdAt: createdAt
        )
    }
}
