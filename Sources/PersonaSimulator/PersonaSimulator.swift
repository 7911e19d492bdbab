public import Hummingbird
public import Logging
import NIOCore

/// A faithful fake of Persona's API for the proxy's demo, live tests and benchmarks.
///
/// Serves Connect connections, API logs and rate limits under `/api/v1` with Persona's
/// authentication, fixed-window rate limit, headers, idempotency and error shapes, plus the
/// `/_simulator` control endpoints. All state lives in a ``SimulatorState``.
public enum PersonaSimulator {
    /// Builds the server application (a swift-service-lifecycle `Service`; run it with
    /// `try await app.runService()` or in a `ServiceGroup`).
    ///
    /// `configuration` supplies the address to bind; the API's behaviour comes from `state`.
    /// `onServerRunning` receives the bound port, which is how a caller learns it for port 0.
    public static func makeApplication(
        configuration: SimulatorConfiguration,
        state: SimulatorState,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> Application<RouterResponder<BasicRequestContext>> {
        Application(
            router: makeRouter(state: state),
            // No server name: Persona's documented headers are all a caller should see.
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { channel in
                await onServerRunning(channel.localAddress?.port ?? configuration.port)
            },
            logger: logger
        )
    }

    /// The routes alone, for in-process tests (`app.test(.router)`).
    public static func makeRouter(state: SimulatorState) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let gateway = PersonaGateway(state: state)
        // Added before the routes so it also wraps the router's not-found responder.
        router.add(middleware: NotFoundMiddleware(gateway: gateway))
        let api = router.group("api/v1")
        ConnectionsEndpoints(state: state).register(on: api, gateway: gateway)
        APILogsEndpoints(state: state).register(on: api, gateway: gateway)
        RateLimitsEndpoint().register(on: api, gateway: gateway)
        ControlEndpoints(state: state).register(on: router)
        return router
    }
}
