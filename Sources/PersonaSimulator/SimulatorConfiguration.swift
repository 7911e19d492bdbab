/// Settings for one simulated Persona environment.
///
/// `host` and `port` only matter to ``PersonaSimulator/makeApplication(configuration:state:logger:onServerRunning:)``;
/// everything else shapes the API's behaviour through ``SimulatorState``.
public struct SimulatorConfiguration: Sendable {
    /// Address to bind.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 asks the system for any free port (reported through `onServerRunning`).
    public var port: Int = 8090
    /// The only bearer token accepted on `/api/v1`.
    public var apiKey: String = "persona_sandbox_simulator-key"
    /// Requests allowed per fixed window; counting starts with the first request of a window.
    public var rateLimit: Int = 300
    /// Length of the fixed rate-limit window.
    public var rateLimitWindow: Duration = .seconds(60)
    /// Delay added before every `/api/v1` answer (401s included), to imitate the network and Persona.
    public var latency: Duration = .zero
    /// Connections seeded besides the fixed `cxn_ABC123`; their ids are derived from their index,
    /// so a restarted simulator serves the same ids.
    public var seededConnections: Int = 25
    /// Sent as `Persona-Environment-Id` on every authenticated response.
    public var environmentId: String = "env_AbcDeFGhIjKlMnOpQrStUvWxYz1"
    /// Sent as `Persona-Organization-Id`; also the source organization of outbound connections.
    /// The default makes `cxn_ABC123` byte-for-byte the spec's example object.
    public var organizationId: String = "org_ABC123"
    /// How many request records and API-log entries are kept (oldest dropped first), so a long
    /// benchmark cannot grow the simulator without bound. The stats counters stay exact regardless.
    public var maxRecordedRequests: Int = 10_000

    public init() {}
}
