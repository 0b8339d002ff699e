import CloudGreetCore
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TestSupport
import Testing

/// The gateway's fast lane (`FastLane`), served for real: reads by a known caller are proxied on the
/// event loop, everything else by the router, and a client cannot tell the two apart.
@Suite struct FastLaneTests {
    let app = GatewayAppTests()

    /// A stand-in crm: a lead names what reached it; `/leads/slow` answers after 3 s, `/leads/big`
    /// sends 4 MB, and a POST answers 201.
    func withCRM(_ body: @Sendable (Int) async throws -> Void) async throws {
        let router = Router()
        router.get("/leads/slow") { _, _ -> Response in
            try await Task.sleep(for: .seconds(3))
            return GatewayAppTests.json(200, ["success": true])
        }
        router.get("/leads/big") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(bytes: Self.big)))
        }
        router.get("/leads/{id}") { request, context -> Response in
            var response = GatewayAppTests.json(
                200,
                [
                    "success": true,
                    "data": [
                        "id": .string(context.parameters.get("id") ?? ""),
                        "query": .string(request.uri.query ?? ""),
                        "request_id": .string(request.headers[.requestID] ?? ""),
                        "credential": .bool(request.headers[HTTPField.Name("X-Internal-Token")!] != nil),
                        "forwarded_for": .string(request.headers[HTTPField.Name("X-Forwarded-For")!] ?? ""),
                        "authorization": .bool(request.headers[.authorization] != nil),
                    ],
                ])
            response.headers[.cacheControl] = "no-store"
            response.headers[HTTPField.Name("X-Upstream")!] = "crm"
            return response
        }
        router.post("/leads") { _, _ -> Response in
            GatewayAppTests.json(201, ["success": true, "data": ["id": "posted"]])
        }
        let crm = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await crm.test(.live) { client in try await body(client.port ?? 0) }
    }

    static let big = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) }

    func laneCount(_ client: any TestClientProtocol) async throws -> Int {
        try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer m"]) { response in
            let line = String(buffer: response.body).split(separator: "\n").first { $0.hasPrefix("fast_lane_requests_total") }
            return line.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0
        }
    }

    @Test func aKnownCallersReadTakesTheLaneAndIsAnsweredAsTheRouterAnswersIt() async throws {
        try await withCRM { crm in
            try await app.withGateway(["CRM_URL": "http://127.0.0.1:\(crm)", "METRICS_TOKEN": "m"], server: .live) { client in
                @Sendable func read(_ id: String) async throws -> (HTTPResponse.Status, HTTPFields, JSONValue) {
                    try await client.execute(
                        uri: "/api/leads/lead_1?fields=a%20b", method: .get,
                        headers: [.authorization: "Bearer \(app.token())", .requestID: id]
                    ) { ($0.status, $0.headers, try JSONValue.decode($0.body.readableBytesView)) }
                }
                // The first read asks identity about the token, so the router serves it; the second, the lane.
                let routed = try await read("parity-1")
                #expect(try await laneCount(client) == 0)
                let laned = try await read("parity-2")
                #expect(try await laneCount(client) == 1)

                #expect(routed.0 == .ok && laned.0 == .ok)
                #expect(routed.2["data"]?["request_id"] == "parity-1" && laned.2["data"]?["request_id"] == "parity-2")
                for answer in [routed.2, laned.2] {
                    #expect(answer["data"]?["id"] == "lead_1" && answer["data"]?["query"] == "fields=a%20b")
                    #expect(answer["data"]?["credential"] == true && answer["data"]?["authorization"] == false)
                    #expect(answer["data"]?["forwarded_for"] == "127.0.0.1")
                }
                let names = { (fields: HTTPFields) in Set(fields.map { $0.name.canonicalName }) }
                #expect(names(routed.1) == names(laned.1), "router \(routed.1) lane \(laned.1)")
                let differing = ["x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset", "date"]
                for field in routed.1 where !differing.contains(field.name.canonicalName) {
                    #expect(laned.1[field.name] == field.value, "\(field.name)")
                }
                #expect(laned.1[.requestID] == "parity-2" && laned.1[HTTPField.Name("X-Upstream")!] == "crm")
                #expect(laned.1[HTTPField.Name("X-RateLimit-Remaining")!] == "998")
            }
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderWhicheverPathTakesThem() async throws {
        try await withCRM { crm in
            try await app.withGateway(["CRM_URL": "http://127.0.0.1:\(crm)", "METRICS_TOKEN": "m"], server: .live) { client in
                try await app.warmUp(client)
                let connection = try RawConnection(port: try #require(client.port))
                let auth = "Authorization: Bearer \(app.token())\r\n"
                connection.send(
                    "GET /api/leads/lead_a HTTP/1.1\r\nHost: x\r\n\(auth)\r\n"
                        + "POST /api/leads HTTP/1.1\r\nHost: x\r\n\(auth)Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                        + "GET /api/leads/lead_b HTTP/1.1\r\nHost: x\r\n\(auth)\r\n"
                        + "GET /api/leads/lead_c HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
                let text = await connection.receive(seconds: 10) { $0.contains("lead_c") }.text
                let order = ["\"lead_a\"", "\"posted\"", "\"lead_b\"", "\"lead_c\""].map { text.range(of: $0)?.lowerBound }
                #expect(order.allSatisfy { $0 != nil }, "\(text)")
                #expect(zip(order, order.dropFirst()).allSatisfy { ($0.0 ?? text.endIndex) < ($0.1 ?? text.startIndex) }, "\(text)")
                #expect(text.components(separatedBy: "HTTP/1.1 200").count == 4 && text.contains("HTTP/1.1 201"))
                // The lane took the first; the rest waited for it, then went to the router behind the POST.
                #expect(try await laneCount(client) == 1)
                // Once the router's answers are out, the lane takes the next read on the connection again.
                connection.send("GET /api/leads/lead_d HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
                #expect(await connection.receive(seconds: 5) { $0.contains("lead_d") }.text.hasPrefix("HTTP/1.1 200"))
                #expect(try await laneCount(client) == 2)
            }
        }
    }

    /// Counters shared between replicas in PostgreSQL are leased in blocks, so the lane serves
    /// there too once a block is taken.
    @Test func sharedRateLimitCountersLetTheLaneServe() async throws {
        guard let database = try await TestEnvironment.postgresDatabaseURL() else { return }
        try await withCRM { crm in
            try await app.withGateway(
                ["CRM_URL": "http://127.0.0.1:\(crm)", "METRICS_TOKEN": "m", "RATE_LIMIT_STORE": "postgres", "DATABASE_URL": database],
                server: .live
            ) { client in
                try await app.warmUp(client)
                var remaining: [String] = []
                for _ in 0..<5 {
                    try await client.execute(uri: "/api/leads/lead_6", method: .get, headers: [.authorization: "Bearer \(app.token())"]) {
                        #expect($0.status == .ok)
                        remaining.append($0.headers[HTTPField.Name("X-RateLimit-Remaining")!] ?? "")
                    }
                }
                #expect(try await laneCount(client) >= 4)
                #expect(remaining == ["998", "997", "996", "995", "994"])
            }
        }
    }

    /// A client that half-closes after its request (`shutdown(SHUT_WR)`) still gets the answer, and
    /// a malformed request behind a lane read is answered after it, as the router orders them.
    @Test func whatComesAfterALaneReadWaitsForItsAnswer() async throws {
        try await withCRM { crm in
            try await app.withGateway(["CRM_URL": "http://127.0.0.1:\(crm)"], server: .live) { client in
                try await app.warmUp(client)
                let port = try #require(client.port)
                let auth = "Authorization: Bearer \(app.token())\r\n"
                let halfClosed = try RawConnection(port: port)
                halfClosed.send("GET /api/leads/slow HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
                halfClosed.finishSending()
                let answer = await halfClosed.receive(seconds: 6)
                #expect(answer.text.hasPrefix("HTTP/1.1 200") && answer.text.contains("\"success\":true"), "\(answer)")

                let garbled = try RawConnection(port: port)
                garbled.send("GET /api/leads/slow HTTP/1.1\r\nHost: x\r\n\(auth)\r\nNOT HTTP AT ALL\r\n\r\n")
                let answers = await garbled.receive(seconds: 6) { $0.contains("HTTP/1.1 400") }.text
                #expect(answers.hasPrefix("HTTP/1.1 200") && answers.contains("HTTP/1.1 400"), "\(answers)")
            }
        }
    }

    /// As the router does, a `Connection: close` request's answer ends the connection.
    @Test func connectionCloseEndsTheConnectionAfterTheAnswer() async throws {
        try await withCRM { crm in
            try await app.withGateway(["CRM_URL": "http://127.0.0.1:\(crm)"], server: .live) { client in
                try await app.warmUp(client)
                let connection = try RawConnection(port: try #require(client.port))
                connection.send("GET /api/leads/lead_5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer \(app.token())\r\n\r\n")
                let answer = await connection.receive(seconds: 5)
                #expect(answer.text.hasPrefix("HTTP/1.1 200") && answer.text.contains("lead_5") && answer.closed, "\(answer)")
            }
        }
    }

    @Test func aServiceThatIsDownIsA503InTheEnvelopeAndOpensTheBreaker() async throws {
        try await app.withGateway(["METRICS_TOKEN": "m"], server: .live) { client in
            try await app.warmUp(client)
            let before = try await laneCount(client)
            for _ in 0..<5 {
                try await client.execute(uri: "/api/leads", method: .get, headers: [.authorization: "Bearer \(app.token())"]) { response in
                    #expect(response.status == .serviceUnavailable)
                    let body = try JSONValue.decode(response.body.readableBytesView)
                    #expect(body["code"] == "SERVICE_UNAVAILABLE" && body["success"] == false)
                    #expect(body["requestId"]?.stringValue == response.headers[.requestID])
                    #expect(response.headers[HTTPField.Name("X-RateLimit-Limit")!] == "1000")
                }
            }
            #expect(try await laneCount(client) == before + 5)
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer m"]) { response in
                expectTheBreakerOpenedOnFiveFailures(String(buffer: response.body))
            }
        }
    }

    @Test func aSlowServiceIsA503AfterTheTimeoutAndTheConnectionServesTheNextRead() async throws {
        try await withCRM { crm in
            try await app.withGateway(["CRM_URL": "http://127.0.0.1:\(crm)", "UPSTREAM_TIMEOUT_SECONDS": "1"], server: .live) { client in
                try await app.warmUp(client)
                let connection = try RawConnection(port: try #require(client.port))
                let auth = "Authorization: Bearer \(app.token())\r\n"
                let start = ContinuousClock.now
                connection.send("GET /api/leads/slow HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
                let slow = await connection.receive(seconds: 5) { $0.contains("SERVICE_UNAVAILABLE") }
                let elapsed = ContinuousClock.now - start
                #expect(slow.text.hasPrefix("HTTP/1.1 503") && !slow.closed, "\(slow.text)")
                #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(2.5))
                connection.send("GET /api/leads/lead_9 HTTP/1.1\r\nHost: x\r\n\(auth)\r\n")
                let next = await connection.receive(seconds: 5) { $0.contains("lead_9") }
                #expect(next.text.hasPrefix("HTTP/1.1 200"), "\(next.text)")
            }
        }
    }

    @Test func aClientThatLeavesMidRequestCostsTheUpstreamNothing() async throws {
        try await withCRM { crm in
            try await app.withGateway(["CRM_URL": "http://127.0.0.1:\(crm)", "METRICS_TOKEN": "m"], server: .live) { client in
                try await app.warmUp(client)
                for _ in 0..<4 {
                    let connection = try RawConnection(port: try #require(client.port))
                    connection.send("GET /api/leads/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(app.token())\r\n\r\n")
                    try await Task.sleep(for: .milliseconds(100))
                    connection.close()
                }
                try await client.execute(uri: "/api/leads/lead_2", method: .get, headers: [.authorization: "Bearer \(app.token())"]) {
                    #expect($0.status == .ok)
                }
                try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer m"]) { response in
                    #expect(!String(buffer: response.body).contains("upstream_failures_total"))
                }
            }
        }
    }

    @Test func aLargeAnswerArrivesWhole() async throws {
        try await withCRM { crm in
            try await app.withGateway(["CRM_URL": "http://127.0.0.1:\(crm)", "METRICS_TOKEN": "m"], server: .live) { client in
                try await app.warmUp(client)
                let before = try await laneCount(client)
                try await client.execute(uri: "/api/leads/big", method: .get, headers: [.authorization: "Bearer \(app.token())"]) {
                    #expect($0.status == .ok)
                    #expect(Array($0.body.readableBytesView) == Self.big)
                }
                #expect(try await laneCount(client) == before + 1)
            }
        }
    }

    /// A kept connection the service closed just as the lane sent on it: the read is sent once more
    /// on a new connection, and the client never sees the failure.
    @Test func aKeptConnectionTheServiceDroppedIsRetriedOnANewOne() async throws {
        let upstream = try await ClosingUpstream.start()
        defer { upstream.stop() }
        try await app.withGateway(["CRM_URL": "http://127.0.0.1:\(upstream.port)"], server: .live) { client in
            try await app.warmUp(client)
            for _ in 0..<3 {
                try await client.execute(uri: "/api/leads/lead_3", method: .get, headers: [.authorization: "Bearer \(app.token())"]) {
                    #expect($0.status == .ok)
                }
            }
            // Each second request on a connection was dropped unanswered and sent again.
            #expect(upstream.requests >= 4 && upstream.connections >= 2)
        }
    }
}

/// A service that answers the first request on each connection and closes the connection on the
/// second without answering: what a kept-alive connection looks like when the service closes it
/// just as a request goes out.
final class ClosingUpstream: Sendable {
    private let channel: any Channel
    private let counts = Mutex((requests: 0, connections: 0))

    var port: Int { channel.localAddress?.port ?? 0 }
    var requests: Int { counts.withLock { $0.requests } }
    var connections: Int { counts.withLock { $0.connections } }

    private init(channel: any Channel) { self.channel = channel }

    static func start() async throws -> ClosingUpstream {
        let box = Mutex<ClosingUpstream?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    try child.pipeline.syncOperations.addHandler(
                        Handler(count: { connection in
                            box.withLock { upstream in
                                upstream?.counts.withLock { counts in
                                    counts.requests += 1
                                    if connection { counts.connections += 1 }
                                }
                            }
                        }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let upstream = ClosingUpstream(channel: channel)
        box.withLock { $0 = upstream }
        return upstream
    }

    func stop() { channel.close(promise: nil) }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let count: @Sendable (Bool) -> Void
        var served = 0

        init(count: @escaping @Sendable (Bool) -> Void) { self.count = count }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data) else { return }
            served += 1
            count(served == 1)
            guard served == 1 else {
                context.close(promise: nil)
                return
            }
            let body = ByteBuffer(string: #"{"success":true,"data":{"id":"lead_3"}}"#)
            let head = HTTPResponseHead(
                version: .http1_1, status: .ok,
                headers: ["Content-Type": "application/json", "Content-Length": String(body.readableBytes)])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
