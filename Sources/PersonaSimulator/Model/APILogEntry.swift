/// One entry of Persona's API log (`type: "api-log"`); its id is the request's `Request-Id`.
struct APILogEntry: Sendable {
    var id: String
    var method: String
    var path: String
    /// Only the headers the spec's schema allows, Authorization already redacted.
    var requestHeaders: [(name: String, value: String)]
    var getParams: JSONValue
    var postParams: JSONValue
    var ipAddress: String
    var status: Int
    var responseHeaders: [(name: String, value: JSONValue)]
    var createdAt: Timestamp

    /// Request headers Persona keeps, in the spec's order. Its schema closes the object
    /// (`additionalProperties: false`), so anything else the caller sent is left out.
    static let keptRequestHeaders = ["Accept", "Authorization", "Host", "Persona-Version", "User-Agent"]

    /// The spec's example shows a fully masked value; the scheme is kept so a reader can still
    /// tell a bearer token was sent, but no part of the key is ever stored.
    static let redactedAuthorization = "Bearer ********"

    /// Header names and parameter contents are data, not keys, so only Persona's own attribute
    /// names are inflected.
    func resource(inflection: KeyInflection) -> JSONValue {
        func key(_ kebab: String) -> String { inflection.apply(toKebab: kebab) }
        let request: JSONValue = .object([
            ("method", .string(method)),
            ("path", .string(path)),
            ("headers", .object(requestHeaders.map { ($0.name, .string($0.value)) })),
            (key("get-params"), getParams),
            (key("post-params"), postParams),
            (key("ip-address"), .string(ipAddress)),
        ])
        let response: JSONValue = .object([
            ("status", .int(status)),
            ("headers", .object(responseHeaders.map { ($0.name, $0.value) })),
        ])
        return .object([
            ("type", .string("api-log")),
            ("id", .string(id)),
            (
                "attributes",
                .object([
                    ("request", request),
                    ("response", response),
                    (key("created-at"), .string(createdAt.iso8601WithOffset)),
                    (key("redacted-at"), .null),
                ])
            ),
        ])
    }
}
