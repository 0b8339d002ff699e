import HummingbirdCore
import Logging
import NIOCore

/// Hummingbird's HTTP/1 channel with one more handler (`lane`) between the connection state
/// handler and the router: it sees each request's parts first and may answer a request itself,
/// writing `HTTPResponsePart`s, or pass it on. Placed there, its answers still pass the connection
/// state handler, which keeps the idle time-out and graceful shutdown right for them too.
struct LaneChannel: ServerChildChannel {
    let http1: HTTP1Channel
    let lane: @Sendable () -> any ChannelHandler

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        http1.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let state = try pipeline.context(handlerType: HTTPConnectionStateHandler.self)
            try pipeline.addHandler(lane(), position: .after(state.handler))
            return value
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}
