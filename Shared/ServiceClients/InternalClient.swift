import AsyncHTTPClient
import CloudGreetCore
import Foundation
import NIOCore
import NIOHTTP1

/// Another service's answer as it came: typed clients read it through `ServiceCallError.data(from:of:)`.
public struct InternalResponse: Sendable {
    public var status: Int
    public var body: JSONValue
}

/// Typed calls to other services' `/internal/...` routes over AsyncHTTPClient, carrying the
/// internal credential and the request id. Idempotent calls retry with backoff; a circuit
/// breaker per upstream answers 503 at once while that upstream is down.
public final class InternalClient: Sendable {
    private let config: ServiceConfig
    private let credential: InternalCredential
    /// One breaker per upstream, shared with whatever else in the process talks to it (the gateway's
    /// proxy and health check).
    public let breakers: CircuitBreakers
    private let http: HTTPClient

    /// Pooled connections to the other services for the life of the process. A refused connection
    /// fails at once (no retries inside the pool); one that does not connect within 1 s counts as
    /// down; callers retry where that is safe.
    public static let pooledHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: poolConfiguration)
    static let retry = RetryPolicy(attempts: 3, baseDelay: .milliseconds(50), maxDelay: .milliseconds(500))

    static var poolConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(1))
        // Idle connections are dropped well before the servers' own idle timeout (IDLE_TIMEOUT_SECONDS,
        // 30 s by default), so a request never picks a connection the server is closing.
        configuration.connectionPool = .init(idleTimeout: .seconds(10), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // After the pool settings, which would reset it: a refused connection is reported at once.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// One path segment, percent-encoded, so an id can never add path or query syntax to a URL.
    public static func pathSegment(_ value: String) -> String { FormQuery.percentEncoded(value) }

    public init(config: ServiceConfig, http: HTTPClient = InternalClient.pooledHTTP, breakers: CircuitBreakers = CircuitBreakers()) {
        self.config = config
        credential = config.internalCredential
        self.breakers = breakers
        self.http = http
    }

    /// The `data` of the service's answer; every failure is a `ServiceCallError` (or cancellation).
    public func data(
        _ service: ServiceName, _ method: HTTPMethod, _ path: String, body: JSONValue? = nil,
        as caller: Caller, requestID: String, timeout: Double = 5, idempotencyKey: String? = nil
    ) async throws -> JSONValue {
        let response: InternalResponse
        do {
            response = try await call(
                service, method, path, body: body, as: caller, requestID: requestID, timeout: timeout,
                idempotencyKey: idempotencyKey)
        } catch is APIError {
            throw ServiceCallError.unavailable(service)
        }
        return try ServiceCallError.data(from: response, of: service)
    }

    /// GET, PUT and DELETE are retried on failure; a POST only when it carries an idempotency key
    /// (sent as `Idempotency-Key`), since only then can a retry not do the work twice.
    public func call(
        _ service: ServiceName, _ method: HTTPMethod, _ path: String, body: JSONValue? = nil,
        as caller: Caller, requestID: String, timeout: Double = 5, idempotencyKey: String? = nil
    ) async throws
        -> InternalResponse
    {
        let breaker = breakers[service]
        guard let permit = breaker.allowRequest() else { throw APIError.unavailable("\(service.rawValue) is unavailable") }
        do {
            let (response, upstreamFault) = try await send(
                service, method, path, body: body, as: caller, requestID: requestID,
                timeout: timeout, idempotencyKey: idempotencyKey)
            upstreamFault ? breaker.recordFailure(permit) : breaker.recordSuccess(permit)
            return response
        } catch let error where error is CancellationError || Task.isCancelled {
            breaker.release(permit)  // the caller went away: says nothing about the upstream
            throw error
        } catch {
            breaker.recordFailure(permit)
            throw APIError.unavailable("\(service.rawValue) is unavailable")
        }
    }

    /// The answer, and whether it blames the upstream (a 5xx other than 502, which says the
    /// upstream is up and its provider failed).
    private func send(
        _ service: ServiceName, _ method: HTTPMethod, _ path: String, body: JSONValue?, as caller: Caller,
        requestID: String, timeout: Double, idempotencyKey: String?
    ) async throws -> (InternalResponse, Bool) {
        let idempotent = method == .GET || method == .PUT || method == .DELETE || idempotencyKey != nil
        var request = HTTPClientRequest(url: config.url(of: service) + path)
        request.method = method
        request.headers.add(name: InternalCredential.header, value: credential.mint(for: caller, requestID: requestID))
        request.headers.add(name: "X-Request-Id", value: requestID)
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.encoded()))
        }
        let attempt = { [http, request] () async throws -> (InternalResponse, Bool) in
            let response = try await http.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
            let bytes = try await response.body.collect(upTo: 16 * 1024 * 1024)
            let status = Int(response.status.code)
            let json = (try? JSONValue.decode(Array(buffer: bytes))) ?? .null
            return (InternalResponse(status: status, body: json), status >= 500 && status != 502)
        }
        return try await Self.retry.run(attempt) { result in
            switch result {
            case .success(let (_, upstreamFault)): upstreamFault && idempotent ? .retry(after: nil) : .stop
            case .failure: idempotent && !Task.isCancelled ? .retry(after: nil) : .stop
            }
        }
    }
}

extension InternalClient {
    /// Reads `data` as `T`: a missing or mistyped field makes the whole answer malformed, never a
    /// value with empty fields. Times are ISO 8601 as the contract writes them.
    public static func decode<T: Decodable>(_ type: T.Type, from data: JSONValue, of service: ServiceName) throws -> T {
        do {
            return try decoder.decode(T.self, from: data.encoded())
        } catch {
            throw ServiceCallError.malformed(service)
        }
    }

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 time"))
            }
            return date
        }
        return decoder
    }()
}
