public import NIOCore

/// The seam between HTTP and the read-through layer: everything the routes may ask of it.
/// `ReadThroughCache` is the real one; `InMemoryConnectionCache` (tests) is its twin, so routes
/// can be tested without SQLite or an upstream.
public protocol ConnectionCache: Sendable {
    func retrieve(_ request: ConnectionRequest, directives: CacheDirectives, caller: CallerIdentity) async throws(StorageError) -> ReadResult
    /// Forwards a create, deactivate or reactivate; a successful deactivate or reactivate purges
    /// the connection's cached variants before this returns.
    func write(_ write: ConnectionWrite, caller: CallerIdentity) async -> WriteResult
    @discardableResult
    func purge(connectionId: String) async throws(StorageError) -> Int
    @discardableResult
    func purgeEverything() async throws(StorageError) -> Int
    /// Every variant held for one connection (admin).
    func variants(connectionId: String) async throws(StorageError) -> [CachedEntry]
    func statistics() async throws(StorageError) -> CacheStatistics
    func entryCount() async throws(StorageError) -> Int
}

/// A connection write as the proxy forwards it.
public struct ConnectionWrite: Sendable {
    public enum Action: String, Sendable {
        case create, deactivate, reactivate
    }

    public var action: Action
    /// nil for a create.
    public var connectionId: String?
    public var personaVersion: String?
    public var keyInflection: String?
    public var body: ByteBuffer
    /// The caller's, if it sent one; otherwise the proxy makes one (and reuses it across its own retries).
    public var idempotencyKey: String?

    public init(
        action: Action, connectionId: String?, personaVersion: String?, keyInflection: String?, body: ByteBuffer, idempotencyKey: String?
    ) {
        self.action = action
        self.connectionId = connectionId
        self.personaVersion = personaVersion
        self.keyInflection = keyInflection
        self.body = body
        self.idempotencyKey = idempotencyKey
    }

    /// Path below the base URL.
    public var path: String {
        connectionId.map { "/api/v1/connect/connections/\($0)/\(action.rawValue)" } ?? "/api/v1/connect/connections"
    }
}

/// How a write ended.
public struct WriteResult: Sendable {
    public var result: UpstreamExchange.Result
    public var calls: [UpstreamCall]
    /// The key sent to Persona (echoed to the caller, so it can retry safely with it).
    public var idempotencyKey: String

    public init(result: UpstreamExchange.Result, calls: [UpstreamCall], idempotencyKey: String) {
        self.result = result
        self.calls = calls
        self.idempotencyKey = idempotencyKey
    }
}
