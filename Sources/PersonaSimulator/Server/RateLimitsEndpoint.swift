import Hummingbird

/// `GET /api/v1/rate-limits`: the same numbers as this request's own RateLimit-* headers.
struct RateLimitsEndpoint: Sendable {
    func register(on api: RouterGroup<BasicRequestContext>, gateway: PersonaGateway) {
        api.get("rate-limits") { request, context in
            try await gateway.respond(to: request, context: context, operation: list)
        }
    }

    func list(_ call: APICall) async throws -> APIResult {
        let rate = call.rateLimit
        let attributes: JSONValue = .object([
            ("limit", .int(rate.limit)),
            ("remaining", .int(rate.remaining)),
            (call.inflection.apply(toKebab: "seconds-to-reset"), .int(rate.secondsToReset)),
        ])
        return .json(.object([("data", .array([.object([("type", .string("rate-limit/api")), ("attributes", attributes)])]))]))
    }
}
