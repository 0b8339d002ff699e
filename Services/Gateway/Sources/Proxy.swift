import AsyncHTTPClient
import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import ServiceClients
import ServiceKit
import Synchronization

/// Forwards a request to the owning service: the request body buffered (see `forward`), the answer
/// streamed back. Only a fixed list of client headers is passed on; identity travels solely in the
/// internal credential minted here.
struct Proxy: Sendable {
    let config: ServiceConfig
    let http: HTTPClient
    let credentials: MintedCredentials
    let breakers: CircuitBreakers
    let metrics: ServiceMetrics
    /// Seconds a client has to send the whole body.
    let bodyTimeout: Double
    let buffers: BodyBudget
    /// Keys of retried POSTs; nil where there is no database for them (tests of the proxy alone).
    let idempotency: Idempotency?

    static let forwardedHeaders: [HTTPField.Name] = [
        "content-type", "accept", "accept-language", "user-agent",
        "telnyx-signature-ed25519", "telnyx-timestamp", "x-retell-signature",
    ].compactMap { HTTPField.Name($0) }
    /// Per-connection ones, and those the gateway sets itself.
    static let droppedResponseHeaders: Set<HTTPField.Name> = Set(
        [
            "connection", "keep-alive", "transfer-encoding", "content-length", "x-request-id", "server", "date",
            "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
        ].compactMap { HTTPField.Name($0) })

    /// The headers a request takes upstream: the client's listed ones, and what the gateway vouches for.
    static func upstreamHeaders(from client: HTTPFields, requestID: String, clientIP: String, credential: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(forwardedHeaders.count + 4)
        for name in forwardedHeaders {
            if let value = client[name] { headers.add(name: name.rawName, value: value) }
        }
        headers.add(name: "X-Request-Id", value: requestID)
        headers.add(name: "X-Forwarded-For", value: clientIP)
        headers.add(name: InternalCredential.header, value: credential)
        return headers
    }

    /// The upstream answer's headers that go on to the client (not `droppedResponseHeaders`).
    static func passedHeaders(_ upstream: HTTPHeaders) -> HTTPFields {
        var headers = HTTPFields()
        for header in upstream {
            if let name = HTTPField.Name(header.name), !droppedResponseHeaders.contains(name) {
                headers.append(HTTPField(name: name, value: header.value))
            }
        }
        return headers
    }

    init(
        config: ServiceConfig, http: HTTPClient, breakers: CircuitBreakers, metrics: ServiceMetrics, bodyTimeout: Double,
        buffers: BodyBudget, idempotency: Idempotency? = nil
    ) {
        self.config = config
        self.http = http
        self.breakers = breakers
        self.metrics = metrics
        self.bodyTimeout = bodyTimeout
        self.buffers = buffers
        self.idempotency = idempotency
        credentials = MintedCredentials(config.internalCredential)
    }

    func forward(
        _ request: Request, path: String, to service: ServiceName, caller: Caller, clientIP: String,
        context: AppContext
    ) async throws -> Response {
        // The whole body first, within its limit and time: a client that aborts or trickles is a
        // client fault (4xx) that never reaches the upstream or its breaker, and the bytes can be
        // sent again if the connection to the upstream is retried. What all clients' bodies may hold
        // at once is bounded, so buffering cannot exhaust the gateway's memory.
        let reservation = bodyReservation(request)
        guard buffers.reserve(reservation) else {
            metrics.increment("upstream_failures_total", labels: ["upstream": service.rawValue, "reason": "buffers_full"])
            throw APIError(503, .serviceUnavailable, "The gateway is busy; try again shortly", headers: [("Retry-After", "1")])
        }
        defer { buffers.release(reservation) }
        let body = reservation > 0 ? try await collectBody(request) : nil
        let outbound = Outbound(request: request, path: path, service: service, caller: caller, clientIP: clientIP, body: body)
        if request.method == .post, let key = request.header(Idempotency.header), let idempotency {
            return try await once(outbound, key: key, idempotency: idempotency, context: context)
        }
        do {
            return try await send(outbound, context: context, whole: false).response
        } catch let notSent as NotSent {
            throw notSent.error
        }
    }

    /// What goes to the upstream.
    struct Outbound {
        let request: Request
        let path: String
        let service: ServiceName
        let caller: Caller
        let clientIP: String
        let body: ByteBuffer?
    }

    /// The upstream's answer, its body read whole or still streaming.
    struct Answer {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let body: ResponseBody
        let bytes: ByteBuffer?

        var response: Response { Response(status: status, headers: headers, body: body) }
    }

    /// A POST with an `Idempotency-Key`: run once per key and body, the kept answer given again.
    private func once(_ outbound: Outbound, key: String, idempotency: Idempotency, context: AppContext) async throws -> Response {
        guard (1...Idempotency.maxKeyLength).contains(key.count) else {
            throw APIError.validation(field: Idempotency.header, "must be 1 to \(Idempotency.maxKeyLength) characters")
        }
        let slot = Idempotency.Slot(
            scope: outbound.caller.businessID.map { "business:\($0)" } ?? "address:\(outbound.clientIP)", key: key,
            method: "POST", path: outbound.path, query: outbound.request.uri.query,
            body: outbound.body.map { Array($0.readableBytesView) } ?? [])
        let claim: Idempotency.Claim
        do {
            claim = try await idempotency.claim(slot)
        } catch {
            // Without its keys the gateway cannot promise once; better no answer than a second booking.
            context.logger.error("idempotency keys unavailable")
            throw APIError.unavailable("Idempotency keys are unavailable")
        }
        switch claim {
        case .replay(let status, let body):
            var response = Response(
                status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: Idempotency.replayBody(body, requestID: context.requestID))))
            response.headers[Self.replayedHeader] = "true"
            return response
        case .inUse:
            throw APIError(
                409, .idempotencyKeyInUse, "A request with this Idempotency-Key is still running", headers: [("Retry-After", "1")])
        case .reused:
            throw APIError(422, .idempotencyKeyReused, "This Idempotency-Key was used with another request")
        case .run:
            // In a task of its own, so that a client who goes away (the lost answer a key is for)
            // does not cancel the request half-way or leave its outcome unrecorded.
            let run = Task {
                let answer: Answer
                do {
                    answer = try await send(outbound, context: context, whole: true)
                } catch let notSent as NotSent {
                    try? await idempotency.release(slot)
                    throw notSent.error
                }
                // Any other failure leaves the outcome unknown (the upstream may have done the work):
                // the key stays claimed until its lease ends.
                let status = Int(answer.status.code)
                if Idempotency.keeps(status: status), let bytes = answer.bytes {
                    try? await idempotency.finish(slot, status: status, body: String(buffer: bytes))
                } else {
                    try? await idempotency.release(slot)
                }
                return answer
            }
            return try await run.value.response
        }
    }

    /// The request never reached the upstream (its circuit is open).
    struct NotSent: Error {
        let error: APIError
    }

    static let replayedHeader = HTTPField.Name("Idempotent-Replayed") ?? .via

    /// Sends to the upstream through its circuit breaker. `whole`: the answer's body is read
    /// whole (up to `MAX_BODY_BYTES`), as an answer to keep needs.
    private func send(_ outbound: Outbound, context: AppContext, whole: Bool) async throws -> Answer {
        let (request, service) = (outbound.request, outbound.service)
        let query = request.uri.query.map { "?" + $0 } ?? ""
        var upstreamRequest = HTTPClientRequest(url: config.url(of: service) + outbound.path + query)
        upstreamRequest.method = HTTPMethod(rawValue: request.method.rawValue)
        upstreamRequest.headers = Self.upstreamHeaders(
            from: request.headers, requestID: context.requestID, clientIP: outbound.clientIP,
            credential: credentials.token(for: outbound.caller))
        if let body = outbound.body { upstreamRequest.body = .bytes(body) }

        let breaker = breakers[service]
        guard let permit = breaker.allowRequest() else {
            metrics.increment("upstream_failures_total", labels: ["upstream": service.rawValue, "reason": "circuit_open"])
            throw NotSent(error: APIError.unavailable("\(service.rawValue) is unavailable"))
        }
        let upstream: HTTPClientResponse
        do {
            upstream = try await http.execute(upstreamRequest, timeout: .milliseconds(Int64(config.upstreamTimeout * 1000)))
        } catch {
            if error is CancellationError || Task.isCancelled {
                breaker.release(permit)  // the client went away: says nothing about the upstream
                throw error
            }
            breaker.recordFailure(permit)
            metrics.increment("upstream_failures_total", labels: ["upstream": service.rawValue, "reason": "unreachable"])
            context.logger.warning("upstream unavailable", metadata: ["upstream": .string(service.rawValue)])
            throw APIError.unavailable("\(service.rawValue) is unavailable")
        }
        breaker.recordSuccess(permit)
        metrics.increment(
            "upstream_responses_total",
            labels: [
                "upstream": service.rawValue,
                "status": String(upstream.status.code),
            ])
        var headers = Self.passedHeaders(upstream.headers)
        let status = HTTPResponse.Status(code: Int(upstream.status.code))
        let length = upstream.headers.first(name: "content-length").flatMap(Int.init)
        if whole || (length.map { $0 <= Self.bufferedResponseBytes } ?? false) {
            // Most answers are a small JSON document: read whole, it goes out in one write rather
            // than through the chunk-by-chunk stream that larger answers take.
            do {
                let bytes = try await upstream.body.collect(upTo: whole ? config.maxBodyBytes : (length ?? 0))
                return Answer(status: status, headers: headers, body: ResponseBody(byteBuffer: bytes), bytes: bytes)
            } catch {
                throw APIError.unavailable("\(service.rawValue) is unavailable")
            }
        }
        if let length { headers[.contentLength] = String(length) }
        return Answer(status: status, headers: headers, body: ResponseBody(asyncSequence: upstream.body), bytes: nil)
    }

    /// Answers up to this size are read whole before they are passed on; larger ones stream.
    static let bufferedResponseBytes = 256 * 1024

    /// How many bytes the request's body may take (its declared length, else the limit); 0 without a body.
    private func bodyReservation(_ request: Request) -> Int {
        let declaredLength = request.header("content-length").flatMap(Int.init)
        let hasBody =
            request.method == .post || request.method == .put || request.method == .patch
            || (declaredLength ?? 0) > 0 || request.header("transfer-encoding") != nil
        guard hasBody else { return 0 }
        return min(max(0, declaredLength ?? config.maxBodyBytes), config.maxBodyBytes)
    }

    /// The request body: 413 past `MAX_BODY_BYTES`, 408 when it has not all arrived within
    /// `REQUEST_BODY_TIMEOUT_SECONDS`, 400 when the client stopped sending.
    private func collectBody(_ request: Request) async throws -> ByteBuffer {
        let maxBytes = config.maxBodyBytes
        if let declaredLength = request.header("content-length").flatMap(Int.init), declaredLength > maxBytes {
            throw APIError.payloadTooLarge
        }
        let stream = request.body
        do {
            return try await withTimeout(seconds: bodyTimeout) {
                try await stream.collect(upTo: maxBytes)
            }
        } catch is TimeoutError {
            throw APIError(408, .validationError, "The request body did not arrive in time", headers: [("Connection", "close")])
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge
        } catch {
            throw APIError.badJSON("The request body was not completed")
        }
    }
}

/// Each caller's internal credential, minted once and sent with its requests for half the
/// credential's lifetime: signing one per request cost more than the rest of the forwarding, and
/// the services keep the credentials they have checked. It carries no request id (`X-Request-Id` does).
struct MintedCredentials: Sendable {
    private let credential: InternalCredential
    private let minted = TTLCache<Caller, String>(ttl: InternalCredential.lifetime / 2, capacity: 10_000)

    init(_ credential: InternalCredential) { self.credential = credential }

    func token(for caller: Caller) -> String {
        if let token = minted.value(caller) { return token }
        let token = credential.mint(for: caller, requestID: nil)
        minted.store(caller, token)
        return token
    }
}

/// Bytes of request bodies the gateway holds at once, over all clients (`MAX_BUFFERED_BODY_BYTES`).
final class BodyBudget: Sendable {
    private let limit: Int
    private let used = Mutex(0)

    init(bytes: Int) { limit = max(0, bytes) }

    func reserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        return used.withLock { used in
            guard used + bytes <= limit else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.withLock { $0 -= bytes }
    }
}
