import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import ServiceKit

/// The gateway's checks on every request: who the caller is, the rate limit (headers on every
/// answer, errors included), and whether the route needs credentials. `/health` and `/metrics`
/// of the gateway itself stay outside, for probes and scrapers.
struct FrontDoor: RouterMiddleware {
    typealias Context = AppContext

    struct Limits: Sendable {
        let authenticated: Int
        let anonymous: Int
        let webhook: Int
    }

    let authenticator: Authenticator
    let limiter: RateLimiter
    let limits: Limits
    let clientAddress: ClientAddress
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: AppContext,
                next: (Request, AppContext) async throws -> Response) async throws -> Response
    {
        let path = request.uri.path
        if path == "/health" || path == "/metrics" { return try await next(request, context) }
        var context = context
        let clientIP = clientAddress.resolve(peer: context.remoteAddress?.ipAddress,
                                             forwardedFor: request.header("X-Forwarded-For"))
        context.logger[metadataKey: "client_ip"] = .string(clientIP)
        let route = path.hasPrefix("/api/") ? Routing.route(String(path.dropFirst(4))) : nil

        var outcome = Authenticator.Outcome.none
        var failure: APIError?
        do {
            outcome = try await authenticator.authenticate(
                authorization: request.header("Authorization"), apiKey: request.header("X-API-Key"),
                requestID: context.requestID)
        } catch {
            failure = error as? APIError ?? .unavailable()
        }

        let bucket: String
        let limit: Int
        if route?.access == .webhook {
            (bucket, limit) = ("webhook:\(clientIP)", limits.webhook)
        } else if case .valid(let caller) = outcome {
            (bucket, limit) = ("\(caller.kind.rawValue):\(caller.subject)", limits.authenticated)
        } else {
            (bucket, limit) = ("ip:\(clientIP)", limits.anonymous)
        }
        let decision: RateLimitDecision
        do {
            decision = try await limiter.check(bucket, limit: limit)
        } catch {
            // A broken counter store must not take the API down: let the request through.
            context.logger.error("rate limit store failed; request allowed")
            decision = RateLimitDecision(limit: limit, count: 0, windowStart: Int(Date().timeIntervalSince1970), window: limiter.window)
        }

        if !decision.allowed {
            await metrics.increment("rate_limit_rejections_total", labels: ["bucket": String(bucket.prefix { $0 != ":" })])
            let retryAfter = max(1, decision.reset - Int(Date().timeIntervalSince1970))
            failure = APIError(429, .rateLimitExceeded, "Rate limit exceeded", headers: [("Retry-After", String(retryAfter))])
        } else if failure == nil, route?.access == .authenticated {
            switch outcome {
            case .none: failure = .authRequired
            case .invalid: failure = .invalidToken
            case .valid: break
            }
        }
        if case .valid(let caller) = outcome, route?.access == .authenticated || route == nil {
            context.caller = caller
        }

        var response: Response
        if let failure {
            response = ErrorMiddleware.response(for: failure, context: context)
        } else {
            do {
                response = try await next(request, context)
            } catch {
                response = ErrorMiddleware.response(for: error, context: context)
            }
        }
        for (name, value) in decision.headers { response.headers[HTTPField.Name(name)!] = value }
        return response
    }
}

/// `CORS_ALLOWED_ORIGINS`: a comma-separated list of origins, or `*`. Preflights are answered here.
struct CORSMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let allowed: [String]

    func allows(_ origin: String) -> Bool { allowed.contains("*") || allowed.contains(origin) }

    func handle(_ request: Request, context: AppContext,
                next: (Request, AppContext) async throws -> Response) async throws -> Response
    {
        guard let origin = request.header("Origin") else { return try await next(request, context) }
        if request.method == .options, request.header("Access-Control-Request-Method") != nil {
            var response = Response(status: .noContent)
            if allows(origin) {
                response.headers[HTTPField.Name("Access-Control-Allow-Origin")!] = origin
                response.headers[HTTPField.Name("Access-Control-Allow-Methods")!] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
                response.headers[HTTPField.Name("Access-Control-Allow-Headers")!] =
                    "Authorization, Content-Type, X-API-Key, X-Request-Id"
                response.headers[HTTPField.Name("Access-Control-Max-Age")!] = "600"
                response.headers[HTTPField.Name("Vary")!] = "Origin"
            }
            return response
        }
        var response = try await next(request, context)
        if allows(origin) {
            response.headers[HTTPField.Name("Access-Control-Allow-Origin")!] = origin
            response.headers[HTTPField.Name("Access-Control-Expose-Headers")!] =
                "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"
            response.headers[HTTPField.Name("Vary")!] = "Origin"
        }
        return response
    }
}
