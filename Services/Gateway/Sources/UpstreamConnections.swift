import CloudGreetCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Keep-alive connections from the gateway's fast lane to the services, kept per event loop so
/// that a request and its upstream exchange run on one thread without a hop.
final class UpstreamConnections: Sendable {
    struct Target: Sendable {
        let host: String
        let port: Int
        /// The `Host` header: what the service's URL names.
        let authority: String
    }

    private struct Key: Hashable {
        let loop: ObjectIdentifier
        let service: ServiceName
    }

    private struct Pool {
        var idle: [any Channel] = []
        /// Open connections, idle or busy.
        var open = 0
    }

    private let targets: [ServiceName: Target]
    private let pools = Mutex<[Key: Pool]>([:])
    /// Idle connections kept per service and loop; more are closed when they come back.
    private let keep: Int
    /// Open connections per service and loop; past it, reads take the router's pooled client.
    private let limit: Int
    private let connectTimeout: TimeAmount

    init(config: ServiceConfig, keep: Int = 64, limit: Int = 128) {
        var targets: [ServiceName: Target] = [:]
        for service in ServiceName.allCases {
            if let target = Self.target(config.url(of: service)) { targets[service] = target }
        }
        self.targets = targets
        self.keep = keep
        self.limit = limit
        connectTimeout = .milliseconds(Int64(min(config.upstreamTimeout, 5) * 1000))
    }

    /// Host and port of an `http://host:port` URL; nil for anything else (a path, credentials,
    /// https), whose service the fast lane leaves to the router.
    static func target(_ url: String) -> Target? {
        guard url.hasPrefix("http://") else { return nil }
        var authority = url.dropFirst("http://".count)
        if authority.hasSuffix("/") { authority = authority.dropLast() }
        guard !authority.contains("/"), !authority.contains("@"), !authority.contains("?"), !authority.contains("#") else { return nil }
        let host: Substring
        let port: Int
        if authority.hasPrefix("[") {  // [IPv6]:port
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            port = rest.hasPrefix(":") ? Int(rest.dropFirst()) ?? -1 : 80
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            port = Int(authority[authority.index(after: colon)...]) ?? -1
        } else {
            host = authority
            port = 80
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        return Target(host: String(host), port: port, authority: String(authority))
    }

    func target(of service: ServiceName) -> Target? { targets[service] }

    /// Whether a read for `service` on `loop` can have a connection: an idle one, or room for another.
    func hasRoom(for service: ServiceName, on loop: any EventLoop) -> Bool {
        guard targets[service] != nil else { return false }
        let key = Key(loop: ObjectIdentifier(loop), service: service)
        return pools.withLock { pools in
            guard let pool = pools[key] else { return true }
            return !pool.idle.isEmpty || pool.open < limit
        }
    }

    /// An idle connection to `service` on `loop`, the most recently used first.
    func take(_ service: ServiceName, on loop: any EventLoop) -> (any Channel)? {
        let key = Key(loop: ObjectIdentifier(loop), service: service)
        return pools.withLock { pools in
            while let channel = pools[key]?.idle.popLast() {
                if channel.isActive { return channel }
            }
            return nil
        }
    }

    /// A connection that finished an exchange and may serve another.
    func giveBack(_ channel: any Channel, service: ServiceName) {
        let key = Key(loop: ObjectIdentifier(channel.eventLoop), service: service)
        let kept = pools.withLock { pools in
            guard pools[key, default: Pool()].idle.count < keep else { return false }
            pools[key, default: Pool()].idle.append(channel)
            return true
        }
        if !kept { channel.close(promise: nil) }
    }

    /// A new connection to `service` on `loop`, with an `UpstreamHandler` at the end of its pipeline;
    /// counted as open until it closes.
    func connect(_ service: ServiceName, on loop: any EventLoop) -> EventLoopFuture<any Channel> {
        guard let target = targets[service], let bootstrap = ClientBootstrap(validatingGroup: loop) else {
            return loop.makeFailedFuture(ChannelError.ioOnClosedChannel)
        }
        let key = Key(loop: ObjectIdentifier(loop), service: service)
        pools.withLock { $0[key, default: Pool()].open += 1 }
        let connected =
            bootstrap
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The request's fields were checked as the client's `HTTPFields` or are the gateway's own.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
            .connect(host: target.host, port: target.port)
        connected.whenComplete { result in
            let closed: EventLoopFuture<Void>
            switch result {
            case .success(let channel): closed = channel.closeFuture
            case .failure: closed = loop.makeSucceededVoidFuture()
            }
            closed.whenComplete { _ in self.pools.withLock { $0[key, default: Pool()].open -= 1 } }
        }
        return connected
    }
}

/// What an upstream connection reports to the request it is serving.
protocol UpstreamExchange: AnyObject {
    func upstreamHead(_ head: HTTPResponseHead)
    func upstreamBody(_ bytes: ByteBuffer)
    func upstreamReadComplete()
    func upstreamEnd()
    /// The connection failed or closed before the answer ended.
    func upstreamFailed()
}

/// The end of an upstream connection's pipeline: sends a request and hands the answer's parts
/// to the exchange it serves. Lives on its connection's event loop, as the exchange does.
final class UpstreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private var context: ChannelHandlerContext?
    private var exchange: (any UpstreamExchange)?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Sends a request without a body; the answer goes to `exchange`.
    func send(_ head: HTTPRequestHead, to exchange: any UpstreamExchange) {
        guard let context, context.channel.isActive else {
            exchange.upstreamFailed()
            return
        }
        self.exchange = exchange
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// The exchange no longer wants the answer (its client went away): nothing more is handed on.
    func abandon() { exchange = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let exchange else { return }
        switch unwrapInboundIn(data) {
        case .head(let head): exchange.upstreamHead(head)
        case .body(let bytes): exchange.upstreamBody(bytes)
        case .end:
            self.exchange = nil
            exchange.upstreamEnd()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.upstreamReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail()
        context.close(promise: nil)
    }

    private func fail() {
        guard let exchange else { return }
        self.exchange = nil
        exchange.upstreamFailed()
    }
}
