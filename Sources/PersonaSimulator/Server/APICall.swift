import Hummingbird

/// What an endpoint gets: an authenticated, admitted request with its headers validated.
struct APICall: Sendable {
    var path: String
    var query: QueryParameters
    var body: [UInt8]
    var inflection: KeyInflection
    /// The numbers this request was admitted with; `GET /rate-limits` reports them.
    var rateLimit: FixedWindowRateLimiter.Decision
    private var parameters: [String: String]

    /// Header validation happens here, after rate limiting and the idempotency layer, so a bad
    /// header costs a request and its 400 is what a reused key replays.
    init(request: Request, body: [UInt8], context: some RequestContext, rateLimit: FixedWindowRateLimiter.Decision) throws {
        try PersonaVersion.validate(request.headers[.personaVersion])
        // The spec makes Key-Inflection an enum; Persona's answer to other values is not
        // documented, and a 400 shows a misconfigured caller at once.
        guard let inflection = KeyInflection(headerValue: request.headers[.keyInflection]) else {
            throw PersonaError.badRequest("Key-Inflection must be one of camel, kebab, snake")
        }
        self.path = request.uri.path
        self.query = QueryParameters(request.uri.query)
        self.body = body
        self.inflection = inflection
        self.rateLimit = rateLimit
        self.parameters = Dictionary(
            context.parameters.map { (String($0.key), String($0.value)) },
            uniquingKeysWith: { first, _ in first }
        )
    }

    /// A path parameter the route declared. Persona ids are letters, digits and `_`, so the raw
    /// segment is the id.
    func parameter(_ name: String) -> String {
        parameters[name] ?? ""
    }
}

/// What an endpoint answers: Persona's status and the exact body bytes.
struct APIResult: Sendable {
    var status: HTTPResponse.Status
    var body: [UInt8]

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> APIResult {
        APIResult(status: status, body: value.bytes)
    }

    static func error(_ error: PersonaError) -> APIResult {
        APIResult(status: error.status, body: error.body)
    }
}
