public import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus the proxy's request id and the
/// peer address (the caller's identity until client auth exists).
public struct ProxyRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `RequestEdgeMiddleware` before any handler runs.
    public var requestId = ""
    /// Who asked (`X-Client-Name`, sanitised, else the peer address); set with `requestId`.
    public var callerName = "unknown"

    /// The caller as upstream calls and the request log name it.
    public var caller: CallerIdentity { CallerIdentity(name: callerName, requestId: requestId) }
    public let peerAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }
}
