import Foundation
public import NIOCore
public import NIOHTTPTypes
import Synchronization

/// `server.max_connections`, enforced the way a production proxy does: at the cap, the connection
/// that has been idle longest (open, no request in flight) is closed to make room, as nginx reuses
/// idle keep-alive connections; only when every connection is busy is the new one refused. So a
/// client holding thousands of idle sockets cannot lock out callers with real requests, and the
/// process never runs out of file descriptors.
public final class ConnectionLimiter: Sendable {
    private struct Tracked {
        let channel: any Channel
        var busy: Bool
        var idleSince: ContinuousClock.Instant
    }

    private let state = Mutex((next: 0, open: [Int: Tracked]()))
    private let maxConnections: Int
    private let onClose: @Sendable (_ reason: String) -> Void

    /// - Parameter onClose: told `idle_evicted` or `refused` for each connection the limit closes.
    public init(maxConnections: Int, onClose: @escaping @Sendable (_ reason: String) -> Void = { _ in }) {
        self.maxConnections = maxConnections
        self.onClose = onClose
    }

    public var openConnections: Int { state.withLock { $0.open.count } }

    /// A handler for one new connection's pipeline (after HTTP decoding).
    public func handler() -> ConnectionLimitHandler { ConnectionLimitHandler(limiter: self) }

    /// Registers a connection; nil when it must be refused.
    func opened(_ channel: any Channel) -> Int? {
        let (id, evicted) = state.withLock { state -> (Int?, (any Channel)?) in
            var evicted: (any Channel)?
            if state.open.count >= maxConnections {
                guard let oldest = state.open.filter({ !$0.value.busy }).min(by: { $0.value.idleSince < $1.value.idleSince }) else {
                    return (nil, nil)
                }
                evicted = oldest.value.channel
                state.open[oldest.key] = nil
            }
            state.next += 1
            state.open[state.next] = Tracked(channel: channel, busy: false, idleSince: .now)
            return (state.next, evicted)
        }
        if let evicted {
            evicted.close(promise: nil)
            onClose("idle_evicted")
        }
        if id == nil { onClose("refused") }
        return id
    }

    func busy(_ id: Int, _ busy: Bool) {
        state.withLock { state in
            state.open[id]?.busy = busy
            if !busy { state.open[id]?.idleSince = .now }
        }
    }

    func closed(_ id: Int) {
        _ = state.withLock { $0.open.removeValue(forKey: id) }
    }
}

/// Tracks one connection for `ConnectionLimiter`: busy from a request's head to its response's end.
public final class ConnectionLimitHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    private let limiter: ConnectionLimiter
    private var id: Int?

    init(limiter: ConnectionLimiter) {
        self.limiter = limiter
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        id = limiter.opened(context.channel)
        if id == nil { context.close(promise: nil) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        if let id { limiter.closed(id) }
        id = nil
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if let id { limiter.closed(id) }
        id = nil
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let id, case .head = unwrapInboundIn(data) { limiter.busy(id, true) }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if let id, case .end = unwrapOutboundIn(data) { limiter.busy(id, false) }
        context.write(data, promise: promise)
    }
}
