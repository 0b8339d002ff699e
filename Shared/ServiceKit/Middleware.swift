import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceClients

extension HTTPField.Name {
    /// `X-Request-Id`: a valid field name, so the fallback is never taken.
    public static let requestID = HTTPField.Name("X-Request-Id") ?? .via
}

/// Keeps a client's `X-Request-Id` of 1-128 characters from `[A-Za-z0-9._-]`, else makes one, and
/// puts it in the response header and in every log line of the request.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = AppContext
    public init() {}

    public static func isValid(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
                    || byte == 46 || byte == 95 || byte == 45
            }
    }

    public func handle(
        _ request: Request, context: AppContext,
        next: (Request, AppContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        if let given = request.header("X-Request-Id"), Self.isValid(given) {
            context.requestID = given
        } else {
            context.requestID = ResourceID.make(.request)
        }
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        var response = try await next(request, context)
        response.headers[.requestID] = context.requestID
        return response
    }
}

/// Turns every error into the JSON envelope. Unknown errors become a bare 500: the details go to
/// the log (with the request id), never to the client.
public struct ErrorMiddleware: RouterMiddleware {
    public typealias Context = AppContext
    public init() {}

    public func handle(
        _ request: Request, context: AppContext,
        next: (Request, AppContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(for: error, context: context)
        }
    }

    public static func response(for error: any Error, context: AppContext) -> Response {
        var response = Response.failure(apiError(for: error, context: context), requestID: context.requestID)
        response.headers[.requestID] = context.requestID
        return response
    }

    static func apiError(for error: any Error, context: AppContext) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as ServiceCallError:
            return error.apiError
        case let error as HTTPError:
            switch error.status {
            case .notFound: return .notFound()
            case .contentTooLarge: return .payloadTooLarge
            case .methodNotAllowed: return APIError(405, .resourceNotFound, "Method not allowed")
            case .badRequest: return .badJSON(error.body ?? "Bad request")
            case .unauthorized: return .authRequired
            default:
                return APIError(
                    error.status.code, error.status.code >= 500 ? .internalServerError : .validationError,
                    error.status.reasonPhrase)
            }
        default:
            context.logger.error("unhandled error", metadata: ["error": .string(String(reflecting: type(of: error)))])
            context.logger.debug("unhandled error detail", metadata: ["detail": .string("\(error)")])
            return .internal
        }
    }
}

/// Services trust a request only with a valid internal credential; `/health` and `/metrics` are open
/// for probes and scrapers. Identity headers a client might send are never read.
public struct InternalAuthMiddleware: RouterMiddleware {
    public typealias Context = AppContext
    let credential: InternalCredential
    let openPaths: Set<String>
    /// Credentials already checked, by token, until they expire: the gateway sends one caller's
    /// credential with many requests, and checking its signature again each time was a sixth of
    /// a simple read's work.
    let checked = TTLCache<String, CheckedCredential>(ttl: InternalCredential.lifetime, capacity: 10_000)

    struct CheckedCredential: Sendable {
        let caller: Caller
        let expires: Date
    }

    public init(credential: InternalCredential, openPaths: Set<String> = ["/health", "/livez", "/readyz", "/metrics"]) {
        self.credential = credential
        self.openPaths = openPaths
    }

    private func caller(_ token: String) -> Caller? {
        let now = Date()
        if let known = checked.value(token, now: now) { return known.expires > now ? known.caller : nil }
        guard token.utf8.count <= 4096, let (caller, expires) = credential.check(token, now: now) else { return nil }
        checked.store(token, CheckedCredential(caller: caller, expires: expires), now: now)
        return caller
    }

    public func handle(
        _ request: Request, context: AppContext,
        next: (Request, AppContext) async throws -> Response
    ) async throws -> Response {
        if openPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let token = request.header(InternalCredential.header) else { throw APIError.authRequired }
        guard let caller = caller(token) else { throw APIError.invalidToken }
        // A `business_id` in the query may be omitted, but when present it must be the caller's own.
        if caller.kind == .user || caller.kind == .apiKey, let asked = request.query["business_id"],
            asked != caller.businessID
        {
            throw APIError.forbidden
        }
        var context = context
        context.caller = caller
        if caller.kind != .anonymous { context.logger[metadataKey: "caller"] = .string(caller.kind.rawValue) }
        return try await next(request, context)
    }
}

/// Every parameter of this API takes one value, so a repeated one is a 422 naming it: otherwise a
/// check could read the first value while a handler reads another (`?business_id=own&business_id=other`).
/// Control characters in a value are a 422 too (NUL cannot even reach PostgreSQL).
public struct QueryCheckMiddleware: RouterMiddleware {
    public typealias Context = AppContext
    public init() {}

    public func handle(
        _ request: Request, context: AppContext,
        next: (Request, AppContext) async throws -> Response
    ) async throws -> Response {
        let errors = Self.errors(in: request.uri.query)
        guard errors.isEmpty else { throw APIError.validation(errors) }
        return try await next(request, context)
    }

    /// What is wrong with a query string, by parameter; empty when nothing is.
    public static func errors(in query: String?) -> [String: [String]] {
        let query = FormQuery.parse(query)
        var errors: [String: [String]] = [:]
        for name in query.repeated { errors[name, default: []].append("must be given only once") }
        for (name, value) in query.values where value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            errors[name, default: []].append("must not contain control characters")
        }
        return errors
    }
}

/// One log line per request: method, route pattern (not the raw path or query, which may carry
/// personal data), status and duration, with the request id from the logger's metadata.
public struct AccessLogMiddleware: RouterMiddleware {
    public typealias Context = AppContext
    public init() {}

    public func handle(
        _ request: Request, context: AppContext,
        next: (Request, AppContext) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let milliseconds = (ContinuousClock.now - start) / .milliseconds(1)
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue), "route": .string(context.endpointPath ?? "unmatched"),
                "status": .stringConvertible(response.status.code), "duration_ms": .stringConvertible(Int(milliseconds.rounded())),
            ])
        return response
    }
}

/// Counts requests by route and status and times them, for `/metrics`.
public struct MetricsMiddleware: RouterMiddleware {
    public typealias Context = AppContext
    let metrics: ServiceMetrics

    public init(metrics: ServiceMetrics) { self.metrics = metrics }

    public func handle(
        _ request: Request, context: AppContext,
        next: (Request, AppContext) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        metrics.recordRequest(
            method: request.method.rawValue, route: context.endpointPath ?? "unmatched",
            status: response.status.code, seconds: seconds)
        return response
    }
}
