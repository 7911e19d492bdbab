import HTTPTypes
import Hummingbird
import NIOCore

/// The one place where what the read path did becomes an HTTP answer: status, Persona's headers,
/// `Age`, `Cache-Status`, and the label metrics and the request log use.
extension ReadResult {
    /// `hit`, `stale`, `miss`, `expired`, `pass` (not stored), `collapsed`, `error`, `rate_limited`, `unsatisfiable`.
    public var label: String {
        switch outcome {
        case .hit, .refreshLimited: "hit"
        case .stale, .staleIfError: "stale"
        case .forwarded(let stored): collapsed ? "collapsed" : !stored ? "pass" : forward == .miss ? "miss" : "expired"
        case .failed, .invalidAnswer: "error"
        case .refused: "rate_limited"
        case .unsatisfiable: "unsatisfiable"
        }
    }

    /// The HTTP status the caller receives.
    public var status: Int {
        switch source {
        case .entry(let entry, _): entry.status
        case .upstream(let response): response.status
        case .none: refusal.status
        }
    }

    var response: Response {
        let cacheStatus = CacheStatus(self).headerValue
        switch source {
        case .entry(let entry, let age):
            return ProxyResponses.stored(entry, age: age, cacheStatus: cacheStatus)
        case .upstream(let response):
            return ProxyResponses.forwarded(response, cacheStatus: cacheStatus)
        case .none:
            var response = refusal.response
            response.headers[.cacheStatus] = cacheStatus
            return response
        }
    }

    private var refusal: ProxyError {
        switch outcome {
        case .failed(let error): .upstream(error)
        case .invalidAnswer(let invalid): .upstreamUnreachable(invalid.explanation)
        case .refused(let refusal): .rateLimited(refusal)
        case .unsatisfiable: ProxyError(status: 504, title: "Gateway timeout", details: "Cache-Control: only-if-cached was sent and no usable copy is cached.")
        case .hit, .refreshLimited, .stale, .forwarded, .staleIfError:
            // Every other outcome has a source; reaching here is a bug in the read path, not the caller's fault.
            ProxyError(status: 500, title: "Internal server error", details: "The proxy produced no answer.")
        }
    }
}

/// Response bodies and headers built from stored entries and upstream answers.
enum ProxyResponses {
    /// Headers of Persona's that a cached answer keeps, so a hit looks like the original.
    static let storedHeaderNames = ["Content-Type", "Request-Id", "Persona-Environment-Id", "Persona-Organization-Id"]
    /// Headers of Persona's passed through on a forwarded answer (rate-limit state included,
    /// so callers that watch it keep working).
    static let forwardedHeaderNames = storedHeaderNames + ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]

    static func stored(_ entry: CachedEntry, age: Int, cacheStatus: String) -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(7)
        if let contentType = entry.contentType { headers[.contentType] = contentType }
        if let id = entry.personaRequestId { headers[.requestId] = id }
        if let id = entry.environmentId { headers[.personaEnvironmentId] = id }
        if let id = entry.organizationId { headers[.personaOrganizationId] = id }
        headers[.age] = String(age)
        headers[.cacheStatus] = cacheStatus
        return Response(status: HTTPResponse.Status(code: entry.status), headers: headers, body: ResponseBody(byteBuffer: entry.body))
    }

    static func forwarded(_ response: UpstreamResponse, cacheStatus: String, extra: [(name: String, value: String)] = []) -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(forwardedHeaderNames.count + extra.count + 1)
        for name in forwardedHeaderNames {
            if let value = response.header(name), let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        for header in extra {
            if let field = HTTPField.Name(header.name) { headers.append(HTTPField(name: field, value: header.value)) }
        }
        headers[.cacheStatus] = cacheStatus
        return Response(status: HTTPResponse.Status(code: response.status), headers: headers, body: ResponseBody(byteBuffer: response.body))
    }
}

extension HTTPField.Name {
    static let requestId = Self("Request-Id")!
    static let personaEnvironmentId = Self("Persona-Environment-Id")!
    static let personaOrganizationId = Self("Persona-Organization-Id")!
}
