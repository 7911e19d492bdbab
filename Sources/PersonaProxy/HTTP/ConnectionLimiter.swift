import Foundation
public import NIOCore
public import NIOHTTP1
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

    /// A handler for one new connection's pipeline (after HTTP decoding); it also closes the
    /// connection after `idleTimeout` without a request.
    func handler(idleTimeout: TimeAmount? = nil, activity: ConnectionActivity = ConnectionActivity()) -> ConnectionLimitHandler {
        ConnectionLimitHandler(limiter: self, idleTimeout: idleTimeout, activity: activity)
    }

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

/// Tracks one connection for `ConnectionLimiter` (busy from a request's head to its response's
/// end) and closes it after `idleTimeout` with no request in flight. It sits right after HTTP
/// decoding; requests the hit fast path answers below it are counted through `ConnectionActivity`.
public final class ConnectionLimitHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPServerRequestPart
    public typealias InboundOut = HTTPServerRequestPart
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = HTTPServerResponsePart

    private let limiter: ConnectionLimiter
    private let idleTimeout: TimeAmount?
    private let activity: ConnectionActivity
    private var id: Int?
    private var inFlight: Int {
        get { activity.inFlight }
        set { activity.inFlight = newValue }
    }
    private var idleClose: Scheduled<Void>?
    private var idleSince = NIODeadline.now()

    init(limiter: ConnectionLimiter, idleTimeout: TimeAmount?, activity: ConnectionActivity) {
        self.limiter = limiter
        self.idleTimeout = idleTimeout
        self.activity = activity
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        id = limiter.opened(context.channel)
        if id == nil {
            context.close(promise: nil)
            return
        }
        scheduleIdleClose(context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        idleClose?.cancel()
        idleClose = nil
        if let id { limiter.closed(id) }
        id = nil
    }

    public func channelInactive(context: ChannelHandlerContext) {
        idleClose?.cancel()
        idleClose = nil
        if let id { limiter.closed(id) }
        id = nil
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            inFlight += 1
            if inFlight == 1, let id { limiter.busy(id, true) }
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), inFlight > 0 {
            inFlight -= 1
            if inFlight == 0 {
                if let id { limiter.busy(id, false) }
                idleSince = .now()
                scheduleIdleClose(context)
            }
        }
        context.write(data, promise: promise)
    }

    /// One timer per connection, not one per request: when it fires it closes the connection if
    /// it has been idle long enough, or sets itself again for when it will have been.
    private func scheduleIdleClose(_ context: ChannelHandlerContext, at deadline: NIODeadline? = nil) {
        guard let idleTimeout, idleClose == nil else { return }
        // Cancelled when the connection closes, which also breaks the cycle between this handler
        // and the task.
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        idleClose = context.eventLoop.scheduleTask(deadline: deadline ?? idleSince + idleTimeout) {
            let (handler, context) = bound.value
            handler.idleClose = nil
            guard handler.inFlight == 0 else { return }  // the end of the request in flight sets it again
            // Requests the fast path answered never reach this handler: they count as activity too.
            let due = max(handler.idleSince, handler.activity.lastFastAnswer ?? handler.idleSince) + idleTimeout
            if due <= .now() {
                context.close(promise: nil)
            } else {
                handler.scheduleIdleClose(context, at: due)
            }
        }
    }
}
