public import Hummingbird

/// `/healthz` (liveness: the process answers) and `/readyz` (readiness: listening and not
/// draining, both databases open and their latest write committed, and Persona not rejecting
/// the stored key).
public struct HealthRoutes: Sendable {
    /// The cache and the request log: the proxy is ready only when both take writes.
    let databases: [SQLiteDatabase]
    let readiness: Readiness
    let clock: any WallClock

    public init(databases: [SQLiteDatabase], readiness: Readiness, clock: any WallClock) {
        self.databases = databases
        self.readiness = readiness
        self.clock = clock
    }

    public func register(on router: Router<ProxyRequestContext>) {
        router.get("/healthz") { _, _ in
            Self.json(.ok, "{\"status\":\"ok\"}")
        }
        router.get("/readyz") { _, _ in
            let reasons = reasons()
            guard reasons.isEmpty else {
                return Self.json(.serviceUnavailable, "{\"status\":\"not ready\",\"reasons\":[\(reasons.map(JSONString.quote).joined(separator: ","))]}")
            }
            return Self.json(.ok, "{\"status\":\"ready\"}")
        }
    }

    /// Everything that makes the proxy not ready, empty when ready.
    public func reasons() -> [String] {
        var reasons = readiness.reasons
        // Read, never written: the latest real write's outcome (the probe loop refreshes it while
        // degraded), so /readyz does not compete with misses for the single writer.
        for database in databases {
            if let reason = database.unavailableReason ?? database.writeFailure { reasons.append("degraded: " + reason) }
        }
        return reasons
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
