public import NIOCore

/// The first handler after the socket: answers the requests `HitFastPath` can answer straight
/// from the bytes received, and hands every other byte, unchanged and whole requests at a time,
/// to NIO's HTTP decoder and Hummingbird.
///
/// - Requests are read by `FastRequestHead` (strict; anything unusual goes the usual way).
/// - Responses keep request order: while a request handed on is unanswered (`ConnectionActivity`,
///   kept by `ConnectionLimitHandler` above the decoder), later ones are handed on too.
/// - Only complete requests are handed on, so the decoder never holds half of one when the fast
///   path answers the next. A request with a body, or one this handler cannot frame, switches the
///   connection to plain pass-through for good.
/// - Answers are written below NIO's response encoder, which therefore never sees a request it
///   did not also see answered: its record of request methods and its framing stay consistent.
public final class HitFastPathHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private let fastPath: HitFastPath
    private let activity: ConnectionActivity
    private let maxHeadBytes: Int
    private var buffered: ByteBuffer?
    private var passThrough = false
    private var needsFlush = false
    private var peer: String?

    init(fastPath: HitFastPath, activity: ConnectionActivity, maxHeadBytes: Int) {
        self.fastPath = fastPath
        self.activity = activity
        self.maxHeadBytes = maxHeadBytes
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        peer = context.channel.remoteAddress?.ipAddress
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if passThrough {
            context.fireChannelRead(data)
            return
        }
        if var held = buffered {
            buffered = nil
            held.writeBuffer(&bytes)
            bytes = held
        }
        while bytes.readableBytes > 0 {
            let parse = bytes.withUnsafeReadableBytes { FastRequestHead.parse($0, maxHeadBytes: maxHeadBytes) }
            switch parse {
            case .incomplete:
                buffered = bytes
                return
            case .other:
                // From here on the decoder frames this connection's requests.
                passThrough = true
                context.fireChannelRead(wrapInboundOut(bytes))
                return
            case .simple(let head, let length):
                let request = bytes.readSlice(length: length)!
                if activity.inFlight == 0, let answer = fastPath.answer(head, peer: peer, allocator: context.channel.allocator) {
                    activity.answeredFast()
                    context.write(NIOAny(answer), promise: nil)
                    needsFlush = true
                } else {
                    // A miss, or an earlier request still unanswered: the usual way, this one request.
                    context.fireChannelRead(wrapInboundOut(request))
                }
            }
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if let held = buffered, held.readableBytes > 0 {
            // A partial request at close: the decoder reports it as it always has.
            buffered = nil
            context.fireChannelRead(wrapInboundOut(held))
        }
        context.fireChannelInactive()
    }
}

/// What the fast path and the connection limiter share about one connection (both on its event
/// loop): requests handed to the decoder and not yet answered, and when a request last arrived.
final class ConnectionActivity {
    var inFlight = 0
    var lastFastAnswer: NIODeadline?

    func answeredFast() {
        lastFastAnswer = .now()
    }
}
