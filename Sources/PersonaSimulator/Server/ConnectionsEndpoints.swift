import Hummingbird

/// `/api/v1/connect/connections`: list, create, retrieve, deactivate, reactivate.
struct ConnectionsEndpoints: Sendable {
    let state: SimulatorState

    static let fieldsParameter = "fields[connect/connection]"

    func register(on api: RouterGroup<BasicRequestContext>, gateway: PersonaGateway) {
        api.get("connect/connections") { request, context in
            try await gateway.respond(to: request, context: context, operation: list)
        }
        api.post("connect/connections") { request, context in
            try await gateway.respond(to: request, context: context, operation: create)
        }
        api.get("connect/connections/{connection-id}") { request, context in
            try await gateway.respond(to: request, context: context, operation: retrieve)
        }
        api.post("connect/connections/{connection-id}/deactivate") { request, context in
            try await gateway.respond(to: request, context: context, operation: deactivate)
        }
        api.post("connect/connections/{connection-id}/reactivate") { request, context in
            try await gateway.respond(to: request, context: context, operation: reactivate)
        }
    }

    func retrieve(_ call: APICall) async throws -> APIResult {
        let id = call.parameter("connection-id")
        let connection = try await state.withConnections { store, _ in try store.connection(id: id) }
        return APIResult(status: .ok, body: renderer(for: call).document(for: connection))
    }

    /// Newest first; `filter[status]` and `filter[destination-organization-id]` match exactly.
    func list(_ call: APICall) async throws -> APIResult {
        let pagination = try Pagination(query: call.query)
        let status = call.query["filter[status]"]
        let destination = call.query["filter[destination-organization-id]"]
        let all = try await state.withConnections { store, _ in store.newestFirst }
        let page = try pagination.page(of: all, id: \.id) { connection in
            (status.map { $0 == connection.status } ?? true)
                && (destination.map { $0 == connection.destinationOrganizationId } ?? true)
        }
        let links = Pagination.links(
            path: "/api/v1/connect/connections",
            page: page,
            carrying: call.query,
            carriedNames: ["page[size]", "filter[status]", "filter[destination-organization-id]", Self.fieldsParameter]
        )
        return APIResult(status: .ok, body: renderer(for: call).listDocument(for: page.items, links: links))
    }

    /// Body: `{"data":{"attributes":{"destination-organization-id":"org_..."}}}` and nothing
    /// else, as the spec's closed schema says. The key may be inflected like any attribute.
    func create(_ call: APICall) async throws -> APIResult {
        let destination = try Self.destinationOrganizationId(in: call.body)
        let source = state.configuration.organizationId
        let id = Token.random(prefix: "cxn_")
        let connection = try await state.withConnections { store, now in
            let connection = ConnectConnection(
                id: id,
                status: "pending",
                sourceOrganizationId: source,
                destinationOrganizationId: destination,
                createdAt: now,
                updatedAt: now,
                creator: .init(id: Self.apiKeyCreatorId, type: "api-key")
            )
            store.insert(connection)
            return connection
        }
        return APIResult(status: .created, body: renderer(for: call).document(for: connection))
    }

    func deactivate(_ call: APICall) async throws -> APIResult {
        let id = call.parameter("connection-id")
        let connection = try await state.withConnections { store, now in try store.deactivate(id: id, at: now) }
        return APIResult(status: .ok, body: renderer(for: call).document(for: connection))
    }

    func reactivate(_ call: APICall) async throws -> APIResult {
        let id = call.parameter("connection-id")
        let connection = try await state.withConnections { store, now in try store.reactivate(id: id, at: now) }
        return APIResult(status: .ok, body: renderer(for: call).document(for: connection))
    }

    private func renderer(for call: APICall) -> ConnectionRenderer {
        ConnectionRenderer(inflection: call.inflection, fieldsParameter: call.query[Self.fieldsParameter])
    }

    /// The creator of connections made through the simulator's one API key.
    static let apiKeyCreatorId = "api_SimulatorKey8kP2xQ7vN4mR"

    static func destinationOrganizationId(in body: [UInt8]) throws -> String {
        guard let document = try? JSONValue(parsing: body), let top = document.objectMembers else {
            throw PersonaError.badRequest("Request body must be a JSON object")
        }
        if let extra = top.first(where: { $0.key != "data" }) {
            throw PersonaError.badRequest("\(extra.key) is not allowed")
        }
        guard let data = document["data"]?.objectMembers else { throw PersonaError.badRequest("data is missing") }
        if let extra = data.first(where: { $0.key != "attributes" }) {
            throw PersonaError.badRequest("data.\(extra.key) is not allowed")
        }
        guard let attributes = document["data"]?["attributes"]?.objectMembers else {
            throw PersonaError.badRequest("data.attributes is missing")
        }
        var destination: JSONValue?
        for (key, value) in attributes {
            guard KeyInflection.kebabForm(of: key) == "destination-organization-id" else {
                throw PersonaError.badRequest("data.attributes.\(key) is not allowed")
            }
            destination = value
        }
        guard let destination else {
            throw PersonaError.badRequest("data.attributes.destination-organization-id is missing")
        }
        guard let value = destination.stringValue, !value.isEmpty else {
            throw PersonaError.badRequest("data.attributes.destination-organization-id must be a string")
        }
        return value
    }
}
