public import Hummingbird

/// `/healthz` (liveness: the process answers) and `/readyz` (readiness: the database is open
/// and migrated, so a request can be served and recorded).
public struct HealthRoutes: Sendable {
    let database: ProxyDatabase

    public init(database: ProxyDatabase) {
        self.database = database
    }

    public func register(on router: Router<ProxyRequestContext>) {
        router.get("/healthz") { _, _ in
            Self.json(.ok, "{\"status\":\"ok\"}")
        }
        router.get("/readyz") { _, _ in
            if let reason = database.unavailableReason {
                return Self.json(.serviceUnavailable, "{\"status\":\"not ready\",\"reasons\":[\(JSONString.quote(reason))]}")
            }
            return Self.json(.ok, "{\"status\":\"ready\"}")
        }
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
