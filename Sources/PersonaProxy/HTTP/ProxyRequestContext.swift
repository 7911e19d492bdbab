public import Hummingbird
import NIOCore
import Synchronization

/// The per-request context: Hummingbird's core storage plus the proxy's request id, the peer
/// address (the caller's identity until client auth exists) and what the route reports back to
/// the edge middleware.
public struct ProxyRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `RequestEdgeMiddleware` before any handler runs: always the proxy's own, unique.
    public var requestId = ""
    /// The caller's `X-Request-Id`, if it sent a sane one: recorded beside `requestId`.
    public var callerRequestId: String?
    /// Who asked (`X-Client-Name`, sanitised, else the peer address); set with `requestId`.
    public var callerName = "unknown"
    /// The client whose token authenticated the request (nil without clients configured).
    public var authenticatedClient: ClientConfiguration?
    /// Filled in by the route that answered (the middleware passes the context on by value, so
    /// the route reports through this shared slot rather than through a header).
    public let report = RouteReport()

    /// The caller as upstream calls and the request log name it.
    public var caller: CallerIdentity {
        authenticatedClient?.caller(name: callerName, requestId: requestId) ?? CallerIdentity(name: callerName, requestId: requestId)
    }
    public let peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }
}

/// What a route tells the edge about how it answered: the cache label for metrics and the log line.
public final class RouteReport: Sendable {
    private let label = Mutex<String?>(nil)

    public init() {}

    /// nil when the route did not involve the cache.
    public var cacheLabel: String? {
        get { label.withLock { $0 } }
        set { label.withLock { $0 = newValue } }
    }
}
