public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTP1
public import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's `HTTP1Channel` with the proxy's handlers around NIO's HTTP/1 codec: the hit fast
/// path before it (on the raw bytes) and the connection limiter after it (which also keeps the
/// idle timeout). Requests the fast path does not answer continue, unchanged, into Hummingbird's
/// usual HTTP/1 handling.
///
/// Pipeline, socket first: `HitFastPathHandler`, response encoder, request decoder,
/// `ConnectionLimitHandler`, `HTTP1ToHTTPServerCodec`, `HTTPConnectionStateHandler` (graceful
/// shutdown and `Connection: close`; its own idle timeout is off), the async channel.
public struct ProxyHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    public struct Configuration: Sendable {
        public var limiter: ConnectionLimiter
        public var fastPath: HitFastPath?
        public var idleTimeout: TimeAmount?
        public var maxHeaderBytes: Int

        public init(limiter: ConnectionLimiter, fastPath: HitFastPath?, idleTimeout: TimeAmount?, maxHeaderBytes: Int) {
            self.limiter = limiter
            self.fastPath = fastPath
            self.idleTimeout = idleTimeout
            self.maxHeaderBytes = maxHeaderBytes
        }
    }

    public let responder: HTTPChannelHandler.Responder
    let configuration: Configuration

    public init(responder: @escaping HTTPChannelHandler.Responder, configuration: Configuration) {
        self.responder = responder
        self.configuration = configuration
    }

    public static func builder(_ configuration: Configuration) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in ProxyHTTP1Channel(responder: responder, configuration: configuration) }
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = configuration.maxHeaderBytes
            limits.maxHeaderListSize = configuration.maxHeaderBytes
            let activity = ConnectionActivity()
            if let fastPath = configuration.fastPath {
                try channel.pipeline.syncOperations.addHandler(
                    HitFastPathHandler(fastPath: fastPath, activity: activity, maxHeadBytes: configuration.maxHeaderBytes))
            }
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
            try channel.pipeline.syncOperations.addHandler(
                configuration.limiter.handler(idleTimeout: configuration.idleTimeout, activity: activity))
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    public func handle(value asyncChannel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}
