import CloudGreetCore
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import ServiceClients
import ServiceKit
import Synchronization

/// The gateway's fast lane: a read by a caller the gateway already knows (`FrontDoor.admitNow`)
/// is proxied on the connection's event loop, over a kept-alive connection to the service on the
/// same loop, without the router's tasks and their hops between threads. Everything else (writes,
/// bodies, idempotency keys, credentials identity must vouch for, failed checks, CORS) takes the
/// router's path, which gives the same answers; the lane is only the cheaper way for the commonest
/// request. What a lane answer carries is the router's: the request id, rate-limit headers, the
/// upstream's status, headers and body, and the 503 envelope when the service cannot be reached.
final class FastLane: Sendable {
    let frontDoor: FrontDoor
    let connections: UpstreamConnections
    let credentials: MintedCredentials
    let breakers: CircuitBreakers
    let metrics: ServiceMetrics
    let logger: Logger
    let timeout: TimeAmount
    let serverName: String
    let date = HTTPDate()

    init(
        frontDoor: FrontDoor, connections: UpstreamConnections, credentials: MintedCredentials, breakers: CircuitBreakers,
        metrics: ServiceMetrics, logger: Logger, timeout: Double, serverName: String
    ) {
        self.frontDoor = frontDoor
        self.connections = connections
        self.credentials = credentials
        self.breakers = breakers
        self.metrics = metrics
        self.logger = logger
        self.timeout = .milliseconds(Int64(timeout * 1000))
        self.serverName = serverName
    }

    /// The handler for one client connection.
    func handler() -> any ChannelHandler { Handler(lane: self) }

    /// The route label the router's metrics give proxied requests.
    static let route = "/api/**"

    /// One request on its way through the lane. A class: the handler's steps share and update it.
    final class Exchange {
        let admitted: FrontDoor.Admitted
        let head: HTTPRequestHead
        let started = ContinuousClock.now
        var permit: CircuitBreaker.Permit?
        var upstream: (any Channel)?
        var reused = false
        /// The upstream's status, once its answer began.
        var status: Int?
        var keepAlive = true
        var timedOut = false
        /// The upstream's reading was paused for a slow client.
        var paused = false
        var timer: Scheduled<Void>?

        init(admitted: FrontDoor.Admitted, head: HTTPRequestHead) {
            self.admitted = admitted
            self.head = head
        }

        var service: ServiceName { admitted.route.service }
    }

    final class Handler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamExchange {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        private let lane: FastLane
        private var context: ChannelHandlerContext?
        /// The request the lane is serving, if any.
        private var exchange: Exchange?
        /// The rest of the lane's request (its end) is dropped, not passed to the router.
        private var dropping = false
        /// Requests passed to the router whose answers have not ended yet.
        private var routed = 0
        /// Parts that arrived while the lane was serving a request (a pipelining client).
        private var waiting = CircularBuffer<HTTPRequestPart>()
        /// A read from the socket asked for while the lane served a request, held until it is done:
        /// a client cannot pile up requests here faster than they are answered.
        private var heldRead = false
        /// What came after the parts in `waiting` (the client's half-close, a parse error): it goes
        /// to the router after them, so the answers before it are not cut off.
        private var heldEvents: [Held] = []

        enum Held {
            case event(Any)
            case error(any Error)
        }

        private var busy: Bool { exchange != nil || !waiting.isEmpty }

        init(lane: FastLane) { self.lane = lane }

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
        func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let part = unwrapInboundIn(data)
            if busy {
                waiting.append(part)
                return
            }
            take(part, context: context)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if busy { heldEvents.append(.event(event)) } else { context.fireUserInboundEventTriggered(event) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if busy { heldEvents.append(.error(error)) } else { context.fireErrorCaught(error) }
        }

        private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
            switch part {
            case .head(let request):
                // While the router answers, what follows goes there too, so answers keep their order.
                if routed == 0, let exchange = admit(request, context: context) {
                    self.exchange = exchange
                    dropping = true
                    send(context: context)
                } else {
                    dropping = false
                    routed += 1
                    context.fireChannelRead(wrapInboundOut(part))
                }
            case .body, .end:
                if !dropping {
                    context.fireChannelRead(wrapInboundOut(part))
                } else if case .end = part {
                    dropping = false
                }
            }
        }

        func read(context: ChannelHandlerContext) {
            if exchange != nil {
                heldRead = true
            } else {
                context.read()
            }
        }

        /// The router's answers pass here on their way out; their ends are counted.
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            // An answer to a request the router never saw (a parse error's 400) counts for nothing.
            if case .end = unwrapOutboundIn(data), routed > 0 { routed -= 1 }
            context.write(data, promise: promise)
        }

        func channelInactive(context: ChannelHandlerContext) {
            if let exchange {
                // The client went away: the connection upstream is mid-answer and cannot be reused.
                exchange.timer?.cancel()
                if let upstream = exchange.upstream {
                    (try? upstream.pipeline.syncOperations.handler(type: UpstreamHandler.self))?.abandon()
                    upstream.close(promise: nil)
                }
                if let permit = exchange.permit { lane.breakers[exchange.admitted.route.service].release(permit) }
                self.exchange = nil
            }
            waiting.removeAll()
            heldEvents.removeAll()
            context.fireChannelInactive()
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if let exchange { pauseUpstream(exchange, !context.channel.isWritable) }
            context.fireChannelWritabilityChanged()
        }

        /// The exchange for a request the front door admits here; nil for the router's path.
        private func admit(_ request: HTTPRequest, context: ChannelHandlerContext) -> Exchange? {
            let target = request.path ?? ""
            let question = target.firstIndex(of: "?")
            guard
                let admitted = lane.frontDoor.admitNow(
                    request, path: question.map { target[..<$0] } ?? target[...],
                    query: question.map { target[target.index(after: $0)...] },
                    peer: context.channel.remoteAddress?.ipAddress,
                    reaches: { self.lane.connections.hasRoom(for: $0, on: context.eventLoop) })
            else { return nil }
            var headers = Proxy.upstreamHeaders(
                from: request.headerFields, requestID: admitted.requestID, clientIP: admitted.clientIP,
                credential: lane.credentials.token(for: admitted.caller))
            headers.add(name: "Host", value: lane.connections.target(of: admitted.route.service)?.authority ?? "")
            let uri = admitted.route.path + (question.map { String(target[$0...]) } ?? "")
            return Exchange(admitted: admitted, head: HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers))
        }

        /// A slow client holds the upstream's answer back rather than the gateway buffering it.
        private func pauseUpstream(_ exchange: Exchange, _ pause: Bool) {
            guard exchange.paused != pause, let upstream = exchange.upstream else { return }
            exchange.paused = pause
            try? upstream.syncOptions?.setOption(.autoRead, value: !pause)
        }

        /// Sends the request on an idle connection, else a new one; a 503 while the breaker is open.
        private func send(context: ChannelHandlerContext) {
            guard let exchange else { return }
            let service = exchange.service
            guard let permit = lane.breakers[service].allowRequest() else {
                lane.metrics.increment("upstream_failures_total", labels: ["upstream": service.rawValue, "reason": "circuit_open"])
                answerUnavailable(context: context)
                return
            }
            exchange.permit = permit
            exchange.timer = context.eventLoop.assumeIsolated().scheduleTask(in: lane.timeout) { [weak self] in
                self?.timedOut()
            }
            if let channel = lane.connections.take(service, on: context.eventLoop) {
                exchange.reused = true
                attach(channel)
            } else {
                connect(context: context)
            }
        }

        private func connect(context: ChannelHandlerContext) {
            guard let exchange else { return }
            exchange.reused = false
            lane.connections.connect(exchange.service, on: context.eventLoop).assumeIsolated().whenComplete {
                [weak self] result in
                guard let self, self.exchange === exchange else {
                    // The client left, or the request timed out, while connecting.
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    return
                }
                switch result {
                case .success(let channel): self.attach(channel)
                case .failure: self.upstreamFailed()
                }
            }
        }

        private func attach(_ channel: any Channel) {
            guard let exchange, let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                channel.close(promise: nil)
                upstreamFailed()
                return
            }
            exchange.upstream = channel
            if let context, !context.channel.isWritable { pauseUpstream(exchange, true) }
            handler.send(exchange.head, to: self)
        }

        func upstreamHead(_ head: HTTPResponseHead) {
            guard let context, let exchange else { return }
            // As the router's client, the time-out covers waiting for the answer, not its streaming.
            exchange.timer?.cancel()
            exchange.status = Int(head.status.code)
            exchange.keepAlive = head.isKeepAlive
            var fields = Proxy.passedHeaders(head.headers)
            if let length = head.headers.first(name: "content-length") { fields.append(HTTPField(name: .contentLength, value: length)) }
            add(exchange.admitted, to: &fields)
            let status = HTTPResponse.Status(code: Int(head.status.code))
            context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        }

        func upstreamBody(_ bytes: ByteBuffer) {
            guard let context, let exchange else { return }
            context.write(wrapOutboundOut(.body(bytes)), promise: nil)
            if !context.channel.isWritable { pauseUpstream(exchange, true) }
        }

        /// What the upstream sent in one read goes out at once.
        func upstreamReadComplete() {
            if exchange != nil { context?.flush() }
        }

        func upstreamEnd() {
            guard let context, let exchange else { return }
            let service = exchange.service
            if let permit = exchange.permit { lane.breakers[service].recordSuccess(permit) }
            if let upstream = exchange.upstream {
                if exchange.keepAlive {
                    pauseUpstream(exchange, false)
                    lane.connections.giveBack(upstream, service: service)
                } else {
                    upstream.close(promise: nil)
                }
            }
            lane.metrics.increment(
                "upstream_responses_total", labels: ["upstream": service.rawValue, "status": String(exchange.status ?? 0)])
            finish(status: exchange.status ?? 0)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            takeWaiting(context: context)
        }

        func upstreamFailed() {
            guard let context, let exchange else { return }
            exchange.upstream?.close(promise: nil)
            exchange.upstream = nil
            // A kept connection the service had just closed: the request never reached the service,
            // and a read may be sent again, so once more on a new connection.
            if exchange.status == nil, exchange.reused, !exchange.timedOut {
                connect(context: context)
                return
            }
            exchange.timer?.cancel()
            let service = exchange.service
            if let permit = exchange.permit { lane.breakers[service].recordFailure(permit) }
            lane.metrics.increment("upstream_failures_total", labels: ["upstream": service.rawValue, "reason": "unreachable"])
            lane.logger.warning(
                "upstream unavailable", metadata: metadata(exchange.admitted, ["upstream": .string(service.rawValue)]))
            if let status = exchange.status {
                // Half an answer cannot be taken back: the client sees the connection close.
                finish(status: status)
                context.close(promise: nil)
                return
            }
            answerUnavailable(context: context)
        }

        private func timedOut() {
            guard let exchange else { return }
            exchange.timedOut = true
            if let upstream = exchange.upstream {
                (try? upstream.pipeline.syncOperations.handler(type: UpstreamHandler.self))?.abandon()
            }
            upstreamFailed()
        }

        /// The router's 503 for an upstream that cannot be reached, in the envelope.
        private func answerUnavailable(context: ChannelHandlerContext) {
            guard let exchange else { return }
            let error = APIError.unavailable("\(exchange.service.rawValue) is unavailable")
            let body = ByteBuffer(bytes: Envelope.failure(error, requestID: exchange.admitted.requestID).encoded())
            var fields: HTTPFields = [.contentType: "application/json; charset=utf-8", .contentLength: String(body.readableBytes)]
            add(exchange.admitted, to: &fields)
            finish(status: error.status)
            context.write(wrapOutboundOut(.head(HTTPResponse(status: .init(code: error.status), headerFields: fields))), promise: nil)
            context.write(wrapOutboundOut(.body(body)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            takeWaiting(context: context)
        }

        /// The gateway's own headers; the upstream's were left out (`Proxy.passedHeaders`).
        private func add(_ admitted: FrontDoor.Admitted, to fields: inout HTTPFields) {
            fields.append(HTTPField(name: .requestID, value: admitted.requestID))
            for (name, value) in admitted.decision.headers { fields.append(HTTPField(name: name, value: value)) }
            fields.append(HTTPField(name: .date, value: lane.date.current()))
            fields.append(HTTPField(name: .server, value: lane.serverName))
        }

        /// A log line's metadata, with what the router's logger carries for every request.
        private func metadata(_ admitted: FrontDoor.Admitted, _ more: Logger.Metadata) -> Logger.Metadata {
            more.merging(["request_id": .string(admitted.requestID), "client_ip": .string(admitted.clientIP)]) { $1 }
        }

        /// The request is answered: logged and counted as the router would, before its last write
        /// (which may close the connection, in a graceful shutdown, and so re-enter this handler).
        private func finish(status: Int) {
            guard let exchange else { return }
            self.exchange = nil
            let elapsed = ContinuousClock.now - exchange.started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            lane.metrics.recordRequest(method: "GET", route: FastLane.route, status: status, seconds: seconds)
            lane.metrics.increment("fast_lane_requests_total", labels: [:])
            lane.logger.info(
                "request",
                metadata: metadata(
                    exchange.admitted,
                    [
                        "method": "GET", "route": .string(FastLane.route), "status": .stringConvertible(status),
                        "duration_ms": .stringConvertible(Int((seconds * 1000).rounded())),
                    ]))
        }

        /// What waited while the lane served a request, in the order it came.
        private func takeWaiting(context: ChannelHandlerContext) {
            guard exchange == nil, context.channel.isActive else { return }
            // Parts taken now, outside a read from the socket, reach the router only with a read-complete.
            if !waiting.isEmpty {
                while exchange == nil, let part = waiting.popFirst() { take(part, context: context) }
                context.fireChannelReadComplete()
            }
            guard exchange == nil, waiting.isEmpty else { return }
            let held = heldEvents
            heldEvents = []
            for item in held {
                switch item {
                case .event(let event): context.fireUserInboundEventTriggered(event)
                case .error(let error): context.fireErrorCaught(error)
                }
            }
            if heldRead {
                heldRead = false
                context.read()
            }
        }
    }
}

/// The `Date` header's text, made once a second.
final class HTTPDate: Sendable {
    private let cached = Mutex((second: 0, text: ""))

    func current() -> String {
        let now = Date()
        let second = Int(now.timeIntervalSince1970)
        return cached.withLock { cached in
            if cached.second != second { cached = (second, Timestamp.httpDate(now)) }
            return cached.text
        }
    }
}
