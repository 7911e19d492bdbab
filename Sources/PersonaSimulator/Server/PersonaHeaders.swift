import Hummingbird

/// `HTTPField.Name`, reached through `HTTPFields` because Hummingbird re-exports the collection
/// but not the field type, and this target does not depend on swift-http-types directly.
typealias HTTPFieldName = HTTPFields.Element.Name

extension HTTPFieldName {
    static let requestId = Self("Request-Id")!
    static let rateLimitLimit = Self("RateLimit-Limit")!
    static let rateLimitRemaining = Self("RateLimit-Remaining")!
    static let rateLimitReset = Self("RateLimit-Reset")!
    static let personaEnvironmentId = Self("Persona-Environment-Id")!
    static let personaOrganizationId = Self("Persona-Organization-Id")!
    static let personaVersion = Self("Persona-Version")!
    static let keyInflection = Self("Key-Inflection")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let forwardedFor = Self("X-Forwarded-For")!
}

/// The headers of Persona's answers.
enum PersonaHeaders {
    static let jsonContentType = "application/json; charset=utf-8"
    static let cacheControl = "no-cache, no-store, max-age=0, must-revalidate"

    /// 401s carry only this: no Request-Id, RateLimit-* or Persona-* headers.
    static var plain: HTTPFields { [.contentType: jsonContentType] }

    /// Every authenticated answer, errors and 429s included. There is deliberately no
    /// `Retry-After`: Persona does not send one.
    static func authenticated(
        requestId: String,
        rateLimit: FixedWindowRateLimiter.Decision,
        configuration: SimulatorConfiguration
    ) -> HTTPFields {
        [
            .contentType: jsonContentType,
            .cacheControl: cacheControl,
            .requestId: requestId,
            .rateLimitLimit: String(rateLimit.limit),
            .rateLimitRemaining: String(rateLimit.remaining),
            .rateLimitReset: String(rateLimit.secondsToReset),
            .personaEnvironmentId: configuration.environmentId,
            .personaOrganizationId: configuration.organizationId,
        ]
    }

    /// The same answer as Persona's API log shows it: the spec's schema lists these names and
    /// types the RateLimit values as integers.
    static func logged(requestId: String, rateLimit: FixedWindowRateLimiter.Decision) -> [(name: String, value: JSONValue)] {
        [
            ("Cache-Control", .string(cacheControl)),
            ("Content-Type", .string(jsonContentType)),
            ("RateLimit-Limit", .int(rateLimit.limit)),
            ("RateLimit-Remaining", .int(rateLimit.remaining)),
            ("RateLimit-Reset", .int(rateLimit.secondsToReset)),
            ("Request-Id", .string(requestId)),
        ]
    }

    static func json(status: HTTPResponse.Status, headers: HTTPFields, body: [UInt8]) -> Response {
        Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
