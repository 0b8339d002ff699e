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
    let breakers: CircuitBreakers
    let metrics: ServiceMetrics
    /// Seconds a client has to send the whole body.
    let bodyTimeout: Double

    static let forwardedHeaders: [String] = [
        "content-type", "accept", "accept-language", "user-agent",
        "telnyx-signature-ed25519", "telnyx-timestamp", "x-retell-signature",
    ]
    static let droppedResponseHeaders: Set<String> = [
        "connection", "keep-alive", "transfer-encoding", "content-length", "x-request-id", "server", "date",
    ]

    init(config: ServiceConfig, http: HTTPClient, metrics: ServiceMetrics, bodyTimeout: Double) {
        self.config = config
        self.http = http
        self.metrics = metrics
        self.bodyTimeout = bodyTimeout
        credential = config.internalCredential
        breakers = CircuitBreakers(threshold: 3, cooldown: 1)
    }

    func forward(_ request: Request, path: String, to service: ServiceName, caller: Caller, clientIP: String,
                 context: AppContext) async throws -> Response
    {
        // The whole body first, within its limit and time: a client that aborts or trickles is a
        // client fault (4xx) that never reaches the upstream or its breaker, and the bytes can be
        // sent again if the connection to the upstream is retried.
        let body = try await collectBody(request)
        let query = request.uri.query.map { "?" + $0 } ?? ""
        var outbound = HTTPClientRequest(url: config.url(of: service) + path + query)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        for name in Self.forwardedHeaders {
            if let value = request.header(name) { outbound.headers.add(name: name, value: value) }
        }
        outbound.headers.add(name: "X-Request-Id", value: context.requestID)
        outbound.headers.add(name: "X-Forwarded-For", value: clientIP)
        outbound.headers.add(name: InternalCredential.header, value: credential.mint(for: caller, requestID: context.requestID))
        if let body { outbound.body = .bytes(body) }

        let breaker = breakers[service]
        guard await breaker.allowRequest() else {
            await metrics.increment("upstream_failures_total", labels: ["upstream": service.rawValue, "reason": "circuit_open"])
            throw APIError.unavailable("\(service.rawValue) is unavailable")
        }
        let upstream: HTTPClientResponse
        do {
            upstream = try await http.execute(outbound, timeout: .milliseconds(Int64(config.upstreamTimeout * 1000)))
        } catch {
            if error is CancellationError || Task.isCancelled {
                await breaker.release()  // the client went away: says nothing about the upstream
                throw error
            }
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

    /// The request body (nil when there is none): 413 past `MAX_BODY_BYTES`, 408 when it has not
    /// all arrived within `REQUEST_BODY_TIMEOUT_SECONDS`, 400 when the client stopped sending.
    private func collectBody(_ request: Request) async throws -> ByteBuffer? {
        let maxBytes = config.maxBodyBytes
        let declaredLength = request.header("content-length").flatMap(Int.init)
        if let declaredLength, declaredLength > maxBytes { throw APIError.payloadTooLarge }
        let hasBody = request.method == .post || request.method == .put || request.method == .patch
            || (declaredLength ?? 0) > 0 || request.header("transfer-encoding") != nil
        guard hasBody else { return nil }
        let stream = request.body
        do {
            return try await withTimeout(seconds: bodyTimeout) {
                try await stream.collect(upTo: maxBytes)
            }
        } catch is TimeoutError {
            throw APIError(408, .validationError, "The request body did not arrive in time", headers: [("Connection", "close")])
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.payloadTooLarge
        } catch {
            throw APIError.badJSON("The request body was not completed")
        }
    }
}
