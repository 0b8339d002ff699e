import AsyncHTTPClient
import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import ServiceClients
import ServiceKit

/// Forwards a request to the owning service, streaming both bodies. Only a fixed list of client
/// headers is passed on; identity travels solely in the internal credential minted here.
struct Proxy: Sendable {
    let config: ServiceConfig
    let http: HTTPClient
    let credential: InternalCredential
    let breakers: [ServiceName: CircuitBreaker]
    let metrics: ServiceMetrics

    static let forwardedHeaders: [String] = [
        "content-type", "accept", "accept-language", "user-agent",
        "telnyx-signature-ed25519", "telnyx-timestamp", "x-retell-signature",
    ]
    static let droppedResponseHeaders: Set<String> = [
        "connection", "keep-alive", "transfer-encoding", "content-length", "x-request-id", "server", "date",
    ]

    init(config: ServiceConfig, http: HTTPClient, metrics: ServiceMetrics) {
        self.config = config
        self.http = http
        self.metrics = metrics
        credential = config.internalCredential
        breakers = Dictionary(uniqueKeysWithValues: ServiceName.allCases.map {
            ($0, CircuitBreaker(threshold: 3, cooldown: 1))
        })
    }

    func forward(_ request: Request, path: String, to service: ServiceName, caller: Caller, clientIP: String,
                 context: AppContext) async throws -> Response
    {
        let breaker = breakers[service]!
        guard await breaker.allowRequest() else {
            await metrics.increment("upstream_failures_total", labels: ["upstream": service.rawValue, "reason": "circuit_open"])
            throw APIError.unavailable("\(service.rawValue) is unavailable")
        }
        let query = request.uri.query.map { "?" + $0 } ?? ""
        var outbound = HTTPClientRequest(url: config.url(of: service) + path + query)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        for name in Self.forwardedHeaders {
            if let value = request.header(name) { outbound.headers.add(name: name, value: value) }
        }
        outbound.headers.add(name: "X-Request-Id", value: context.requestID)
        outbound.headers.add(name: "X-Forwarded-For", value: clientIP)
        outbound.headers.add(name: InternalCredential.header, value: credential.mint(for: caller, requestID: context.requestID))

        let maxBytes = config.maxBodyBytes
        let declaredLength = request.header("content-length").flatMap(Int.init)
        if let declaredLength, declaredLength > maxBytes { throw APIError.payloadTooLarge }
        if request.method == .post || request.method == .put || request.method == .patch || (declaredLength ?? 0) > 0 {
            outbound.body = .stream(LimitedBody(base: request.body, limit: maxBytes),
                                    length: declaredLength.map { .known(Int64($0)) } ?? .unknown)
        }

        let upstream: HTTPClientResponse
        do {
            upstream = try await http.execute(outbound, timeout: .milliseconds(Int64(config.upstreamTimeout * 1000)))
        } catch is BodyTooLarge {
            throw APIError.payloadTooLarge
        } catch {
            await breaker.recordFailure()
            await metrics.increment("upstream_failures_total", labels: ["upstream": service.rawValue, "reason": "unreachable"])
            context.logger.warning("upstream unavailable", metadata: ["upstream": .string(service.rawValue)])
            throw APIError.unavailable("\(service.rawValue) is unavailable")
        }
        await breaker.recordSuccess()
        await metrics.increment("upstream_responses_total", labels: ["upstream": service.rawValue,
                                                                     "status": String(upstream.status.code)])
        var headers = HTTPFields()
        for header in upstream.headers where !Self.droppedResponseHeaders.contains(header.name.lowercased()) {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        if let length = upstream.headers.first(name: "content-length") { headers[.contentLength] = length }
        return Response(status: HTTPResponse.Status(code: Int(upstream.status.code)), headers: headers,
                        body: ResponseBody(asyncSequence: upstream.body))
    }
}

struct BodyTooLarge: Error {}

/// The request body as it arrives, stopped with `TooLarge` once it passes the limit.
struct LimitedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer

    let base: Base
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let limit: Int
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else { return nil }
            seen += chunk.readableBytes
            if seen > limit { throw BodyTooLarge() }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), limit: limit) }
}
