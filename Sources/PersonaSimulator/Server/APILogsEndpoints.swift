import Hummingbird

/// `/api/v1/api-logs` and `/api/v1/api-logs/{api-log-id}`: the log the gateway writes.
struct APILogsEndpoints: Sendable {
    let state: SimulatorState

    func register(on api: RouterGroup<BasicRequestContext>, gateway: PersonaGateway) {
        api.get("api-logs") { request, context in
            try await gateway.respond(to: request, context: context, operation: list)
        }
        api.get("api-logs/{api-log-id}") { request, context in
            try await gateway.respond(to: request, context: context, operation: retrieve)
        }
    }

    /// Newest first; the spec allows pagination only, no filters.
    func list(_ call: APICall) async throws -> APIResult {
        let pagination = try Pagination(query: call.query)
        let entries = await state.apiLogsNewestFirst()
        let page = try pagination.page(of: entries, id: \.id)
        let links = Pagination.links(path: "/api/v1/api-logs", page: page, carrying: call.query, carriedNames: ["page[size]"])
        let data = JSONValue.array(page.items.map { $0.resource(inflection: call.inflection) })
        return .json(.object([("data", data), ("links", links)]))
    }

    func retrieve(_ call: APICall) async throws -> APIResult {
        guard let entry = await state.apiLog(id: call.parameter("api-log-id")) else {
            throw PersonaError.recordNotFound
        }
        return .json(.object([("data", entry.resource(inflection: call.inflection))]))
    }
}
