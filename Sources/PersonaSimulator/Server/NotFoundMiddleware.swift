import Hummingbird

/// Gives unknown routes Persona's 404 instead of Hummingbird's default.
///
/// Under `/api/v1` the request still goes through the gateway (authentication first, then the
/// rate limit), so an unknown path behaves like any other Persona request; elsewhere it is a
/// bare 404 that is only recorded.
struct NotFoundMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    let gateway: PersonaGateway

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            if path == "/api/v1" || path.hasPrefix("/api/v1/") {
                return try await gateway.respond(to: request, context: context) { _ in
                    throw PersonaError.routeNotFound
                }
            }
            let notFound = PersonaError.routeNotFound
            if !path.hasPrefix("/_simulator") {
                await gateway.state.complete(.init(record: SimulatorRequestRecord(request, status: 404, requestId: nil)))
            }
            return PersonaHeaders.json(status: notFound.status, headers: PersonaHeaders.plain, body: notFound.body)
        }
    }
}
