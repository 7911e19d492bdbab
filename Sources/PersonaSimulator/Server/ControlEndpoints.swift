import Hummingbird

/// `/_simulator/...`: switches for tests and benchmarks that drive the simulator as a separate
/// process. Not Persona's API: no authentication, no rate limit, no latency, not recorded, so
/// they never disturb the numbers they are used to read.
struct ControlEndpoints: Sendable {
    let state: SimulatorState

    func register(on router: Router<BasicRequestContext>) {
        let control = router.group("_simulator")
        control.post("rate-limited") { request, _ in
            let query = QueryParameters(request.uri.query)
            guard let count = Self.integer(query["count"], atLeast: 0) else { return Self.invalid("count") }
            await state.forceRateLimited(next: count)
            return Self.json(.object([("forced_rate_limited", .int(count))]))
        }
        control.post("latency") { request, _ in
            let query = QueryParameters(request.uri.query)
            guard let ms = Self.integer(query["ms"], atLeast: 0) else { return Self.invalid("ms") }
            await state.setLatency(.milliseconds(ms))
            return Self.json(.object([("latency_ms", .int(ms))]))
        }
        control.post("rate-limit") { request, _ in
            let query = QueryParameters(request.uri.query)
            guard let limit = Self.integer(query["limit"], atLeast: 0) else { return Self.invalid("limit") }
            let currentWindow = await state.limiter.window
            var windowSeconds = FixedWindowRateLimiter.wholeSecondsRoundedUp(currentWindow)
            if let raw = query["window_seconds"] {
                guard let seconds = Self.integer(raw, atLeast: 1) else { return Self.invalid("window_seconds") }
                windowSeconds = seconds
            }
            await state.setRateLimit(limit, window: .seconds(windowSeconds))
            return Self.json(.object([("limit", .int(limit)), ("window_seconds", .int(windowSeconds))]))
        }
        // A status change Persona's API never shows the proxy (the dashboard, the other organization).
        control.post("connections/{connection-id}/status") { request, context in
            let query = QueryParameters(request.uri.query)
            guard let status = query["value"], !status.isEmpty, status.count <= 64 else {
                let error = PersonaError.badRequest("value must be a status of 1 to 64 characters")
                return PersonaHeaders.json(status: error.status, headers: PersonaHeaders.plain, body: error.body)
            }
            let id = context.parameters.get("connection-id") ?? ""
            do {
                let connection = try await state.withConnections { store, now in try store.setStatusBehindTheAPI(id: id, to: status, at: now) }
                return Self.json(.object([("id", .string(connection.id)), ("status", .string(connection.status))]))
            } catch let error as PersonaError {
                return PersonaHeaders.json(status: error.status, headers: PersonaHeaders.plain, body: error.body)
            }
        }
        control.get("stats") { _, _ in
            let statistics = await state.statistics
            let byStatus = statistics.byStatus.sorted { $0.key < $1.key }.map { (key: String($0.key), value: JSONValue.int($0.value)) }
            return Self.json(.object([("requests", .int(statistics.requests)), ("by_status", .object(byStatus))]))
        }
        control.post("reset") { _, _ in
            await state.reset()
            return Self.json(.object([("reset", .bool(true))]))
        }
    }

    private static func integer(_ raw: String?, atLeast minimum: Int) -> Int? {
        guard let raw, let value = Int(raw), value >= minimum else { return nil }
        return value
    }

    private static func invalid(_ name: String) -> Response {
        let error = PersonaError.badRequest("\(name) must be an integer in range")
        return PersonaHeaders.json(status: error.status, headers: PersonaHeaders.plain, body: error.body)
    }

    private static func json(_ value: JSONValue) -> Response {
        PersonaHeaders.json(status: .ok, headers: PersonaHeaders.plain, body: value.bytes)
    }
}
