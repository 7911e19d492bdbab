public import HTTPTypes
import Foundation
public import Hummingbird
public import Logging

/// The outer edge of every request: gives it an `X-Request-Id`, turns any error into a
/// Persona-shaped response (Hummingbird would send an empty 500 or 404), and counts it.
public struct RequestEdgeMiddleware: RouterMiddleware {
    public typealias Context = ProxyRequestContext
    let metrics: ProxyMetrics
    /// The proxy's logger, not the request context's: Hummingbird's per-request metadata would make
    /// these lines differ from the fast path's.
    let logger: Logger
    /// Read per request, so a reload adds or revokes clients for the next one.
    let access: @Sendable () -> AccessControl

    public init(
        metrics: ProxyMetrics, logger: Logger = Logger(label: "persona-proxy"),
        access: @escaping @Sendable () -> AccessControl = { AccessControl(clients: []) }
    ) {
        self.metrics = metrics
        self.logger = logger
        self.access = access
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        // Always our own id: a caller's id could collide with, or imitate, another caller's row.
        context.requestId = RequestIdGenerator.shared.next()
        context.callerRequestId = Self.callerRequestId(from: request.headers[.xRequestId])
        let started = ContinuousClock.now
        var response: Response
        var refusal: ProxyMetrics.RefusalReason?
        let access = access()
        let authorization = request.headers[.authorization]
        let decision = access.decide(
            method: request.method.rawValue, path: Substring(request.uri.path), authorization: authorization,
            host: request.head.authority, origin: request.headers[.origin], clientName: request.headers[.xClientName],
            peer: context.peerAddress)
        do {
            switch decision {
            case .allow(let callerName, let client):
                context.callerName = callerName
                context.authenticatedClient = client
                response = try await next(request, context)
            case .refuse(let error):
                refusal = error.status == 401 ? .unauthenticated : .forbidden
                response = error.response
            }
        } catch let error as ProxyError {
            refusal = error.status == 400 ? .invalid : error.status == 429 ? .rateLimited : nil
            response = error.response
        } catch let error as StorageError {
            response = ProxyError.storage(error).response
        } catch let error as InvalidRequest {
            refusal = .invalid
            response = ProxyError.invalid(error).response
        } catch let error as any HTTPResponseError {
            response = Self.refusal(for: error.status, request: request).response
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)", "request_id": "\(context.requestId)"])
            response = ProxyError(status: 500, title: "Internal server error", details: "The proxy failed to handle this request; see its log for request id \(context.requestId).").response
        }
        response.headers[.xRequestId] = context.requestId
        let route = context.endpointPath ?? "unmatched"
        let cache = context.report.cacheLabel ?? "none"
        metrics.recordRequest(route: route, status: Int(response.status.code), cache: cache)
        if context.report.cacheLabel == "rate_limited" { refusal = .rateLimited }
        if let client = access.metricsLabel(decision, authorization: authorization) {
            metrics.recordClientRequest(client: client)
            if let refusal { metrics.recordClientRefusal(client: client, reason: refusal) }
        }
        Self.logRequest(
            logger, requestId: context.requestId, method: request.method.rawValue, path: request.uri.path, status: Int(response.status.code), cache: cache,
            started: started, caller: context.callerName)
        return response
    }

    /// One line per request, the same from the fast path; never headers (they may carry a
    /// caller's token) or bodies.
    static func logRequest(
        _ logger: Logger, requestId: String, method: String, path: String, status: Int, cache: String, started: ContinuousClock.Instant, caller: String
    ) {
        logger.info(
            "request",
            metadata: [
                "request_id": "\(requestId)", "method": "\(method)", "path": "\(path.prefix(200))", "status": "\(status)", "cache": "\(cache)",
                "duration_ms": "\(String(format: "%.2f", (ContinuousClock.now - started).milliseconds))", "caller": "\(caller)",
            ])
    }

    static func refusal(for status: HTTPResponse.Status, request: Request) -> ProxyError {
        switch status {
        case .notFound:
            // Never forwarded: the stored key must not become a way to reach arbitrary endpoints.
            .notFound("persona-proxy does not serve \(request.method.rawValue) \(request.uri.path.prefix(200)).")
        case .methodNotAllowed:
            ProxyError(status: 405, title: "Method not allowed", details: "persona-proxy does not serve \(request.method.rawValue) \(request.uri.path.prefix(200)).")
        default:
            ProxyError(status: Int(status.code), title: status.reasonPhrase)
        }
    }

    /// The caller's id when it is a sane token (so it can be logged and searched safely), else nil.
    static func callerRequestId(from header: String?) -> String? {
        if let header, !header.isEmpty, header.utf8.count <= 128,
            header.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
            })
        {
            return header
        }
        return nil
    }
}

extension HTTPField.Name {
    public static let xRequestId = Self("X-Request-Id")!
    public static let xClientName = Self("X-Client-Name")!
    public static let cacheStatus = Self("Cache-Status")!
    public static let keyInflection = Self("Key-Inflection")!
    public static let personaVersion = Self("Persona-Version")!
    static let pragma = Self("Pragma")!
}

extension ProxyError {
    var response: Response { response(cacheStatus: nil) }

    func response(cacheStatus: CacheStatus?) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        for header in self.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        if let cacheStatus { headers[.cacheStatus] = cacheStatus.headerValue }
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: jsonBody)))
    }
}
