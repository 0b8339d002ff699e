import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import ServiceKit

/// The gateway's checks on every request: who the caller is, the rate limit (headers on every
/// answer, errors included), and whether the route needs credentials. The gateway's own `/health`
/// and `/metrics` are registered before it and so stay outside (see `MetricsAccess`); its routes
/// under `/api` (health, the API description) count against `limits.health`.
struct FrontDoor: RouterMiddleware {
    typealias Context = AppContext

    struct Limits: Sendable {
        let authenticated: Int
        let anonymous: Int
        let webhook: Int
        /// The gateway's own answers (health, the API description), per address: monitors poll
        /// health and the docs page loads several files, and neither may eat the anonymous budget.
        let health: Int
    }

    let authenticator: Authenticator
    let limiter: RateLimiter
    let limits: Limits
    let clientAddress: ClientAddress
    let metrics: ServiceMetrics

    func handle(
        _ request: Request, context: AppContext,
        next: (Request, AppContext) async throws -> Response
    ) async throws -> Response {
        // What follows `/api`, if anything: what the routing table is asked about.
        let apiPath = request.uri.path.hasPrefix("/api/") ? String(request.uri.path.dropFirst(4)) : nil
        var context = context
        let clientIP = clientAddress.resolve(
            peer: context.remoteAddress?.ipAddress,
            forwardedFor: request.header("X-Forwarded-For"))
        context.clientAddress = clientIP
        context.logger[metadataKey: "client_ip"] = .string(clientIP)
        let route = apiPath.flatMap { Routing.route(request.method, $0) }
        context.upstream = route

        let admission = await admit(request, apiPath: apiPath, route: route, clientIP: clientIP, context: context)
        if case .valid(let caller) = admission.outcome { context.caller = caller }
        var response: Response
        if let failure = admission.failure {
            response = ErrorMiddleware.response(for: failure, context: context)
        } else {
            do {
                response = try await next(request, context)
            } catch {
                response = ErrorMiddleware.response(for: error, context: context)
            }
        }
        for (name, value) in admission.decision.headers { response.headers[name] = value }
        return response
    }

    struct Admission {
        var outcome = Authenticator.Outcome.none
        var decision: RateLimitDecision
        var failure: APIError?
    }

    /// Counts the request against its bucket and decides whether it passes. Routes that need no
    /// credentials (login, the password routes, webhooks, health) always count against the address,
    /// whatever credential comes along, so a token cannot lift the anonymous limit there.
    private func admit(
        _ request: Request, apiPath: String?, route: UpstreamRoute?, clientIP: String,
        context: AppContext
    ) async -> Admission {
        let client = ClientAddress.limitKey(clientIP)
        if route == nil, let apiPath, Routing.isGatewayRoute(request.method, apiPath) {
            return await count("health:\(client)", limit: limits.health, context: context)
        }
        switch route?.access {
        case .webhook?: return await count("webhook:\(client)", limit: limits.webhook, context: context)
        case .anonymous?: return await count("ip:\(client)", limit: limits.anonymous, context: context)
        case .authenticated?, nil: break
        }
        let addressBucket = "ip:\(client)"
        // A key that is not cached costs a call to identity. Keys identity refused are counted per
        // address, and past the anonymous limit none is asked about, so guessing keys is limited
        // while valid keys behind a busy address (NAT, an integration platform) are still checked.
        let refusals = "keyfail:\(client)"
        let budget = Authenticator.LookupBudget(
            hasRoom: { [limiter, limits] in (try? await limiter.hasRoom(refusals, limit: limits.anonymous)) ?? true },
            spend: { [limiter, limits] in _ = try? await limiter.check(refusals, limit: limits.anonymous) })
        var outcome = Authenticator.Outcome.none
        var failure: APIError?
        do {
            outcome = try await authenticator.authenticate(
                Authenticator.credential(authorization: request.header("Authorization"), apiKey: request.header("X-API-Key")),
                requestID: context.requestID, budget: budget)
        } catch {
            failure = error as? APIError ?? .unavailable()
        }
        var admission: Admission
        if case .valid(let caller) = outcome {
            admission = await count(Self.bucket(of: caller), limit: limits.authenticated, context: context)
        } else {
            admission = await count(addressBucket, limit: limits.anonymous, context: context)
        }
        admission.outcome = outcome
        // Unknown paths go on to the router's 404 whatever their credentials.
        if admission.failure == nil, route != nil {
            switch outcome {
            case .none: admission.failure = failure ?? .authRequired
            case .invalid: admission.failure = failure ?? .invalidToken
            case .valid: break
            }
        }
        return admission
    }

    /// The rate-limit bucket of an authenticated caller.
    static func bucket(of caller: Caller) -> String { "\(caller.kind.rawValue):\(caller.subject)" }

    private func count(_ bucket: String, limit: Int, context: AppContext) async -> Admission {
        let decision: RateLimitDecision
        do {
            decision = try await limiter.check(bucket, limit: limit)
        } catch {
            // A broken counter store must not take the API down: let the request through.
            context.logger.error("rate limit store failed; request allowed")
            decision = RateLimitDecision(limit: limit, count: 0, windowStart: Int(Date().timeIntervalSince1970), window: limiter.window)
        }
        guard !decision.allowed else { return Admission(decision: decision) }
        metrics.increment("rate_limit_rejections_total", labels: ["bucket": String(bucket.prefix { $0 != ":" })])
        let retryAfter = max(1, decision.reset - Int(Date().timeIntervalSince1970))
        return Admission(
            decision: decision,
            failure: APIError(429, .rateLimitExceeded, "Rate limit exceeded", headers: [("Retry-After", String(retryAfter))]))
    }
}

extension FrontDoor {
    /// A request the gateway's fast lane serves: admitted, counted, and on its way to `route`.
    struct Admitted {
        let route: UpstreamRoute
        let caller: Caller
        let clientIP: String
        let requestID: String
        let decision: RateLimitDecision
    }

    /// The front door's checks for a read by a known caller, made without waiting: nil, with
    /// nothing counted, for every request that needs more (a body, an unknown credential, a check
    /// that fails, CORS, counters in the database, `Connection: close`), which then takes the
    /// router's path through `handle`. `query` is what follows `?` in the request's path, if anything.
    func admitNow(
        _ request: HTTPRequest, path: Substring, query: Substring?, peer: String?, reaches: (ServiceName) -> Bool
    ) -> Admitted? {
        let fields = request.headerFields
        guard request.method == .get, path.hasPrefix("/api/"),
            // The router closes the connection after a `Connection: close` request's answer.
            !(fields[.connection]?.lowercased().contains("close") ?? false), fields[.origin] == nil, fields[.transferEncoding] == nil,
            (fields[.contentLength] ?? "0") == "0",
            let route = Routing.route(.get, String(path.dropFirst(4))), route.access == .authenticated, reaches(route.service),
            case .valid(let caller)? = authenticator.knownOutcome(
                Authenticator.credential(authorization: fields[.authorization], apiKey: fields[Self.apiKey])),
            QueryCheckMiddleware.errors(in: query.map(String.init)).isEmpty,
            let decision = limiter.checkAllowed(Self.bucket(of: caller), limit: limits.authenticated)
        else { return nil }
        let clientIP = clientAddress.resolve(peer: peer, forwardedFor: fields[Self.forwardedFor])
        let requestID = fields[.requestID].flatMap { RequestIDMiddleware.isValid($0) ? $0 : nil } ?? ResourceID.make(.request)
        return Admitted(route: route, caller: caller, clientIP: clientIP, requestID: requestID, decision: decision)
    }

    static let apiKey = HTTPField.Name("X-API-Key") ?? .authorization
    static let forwardedFor = HTTPField.Name("X-Forwarded-For") ?? .via
}

/// `CORS_ALLOWED_ORIGINS`: a comma-separated list of origins, or `*`. Preflights are answered here.
struct CORSMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let allowed: [String]

    func allows(_ origin: String) -> Bool { allowed.contains("*") || allowed.contains(origin) }

    func handle(
        _ request: Request, context: AppContext,
        next: (Request, AppContext) async throws -> Response
    ) async throws -> Response {
        guard let origin = request.header("Origin") else { return try await next(request, context) }
        if request.method == .options, request.header("Access-Control-Request-Method") != nil {
            var response = Response(status: .noContent)
            if allows(origin) {
                response.headers[.accessControlAllowOrigin] = origin
                response.headers[.accessControlAllowMethods] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
                response.headers[.accessControlAllowHeaders] = "Authorization, Content-Type, X-API-Key, X-Request-Id"
                response.headers[.accessControlMaxAge] = "600"
                response.headers[.vary] = "Origin"
            }
            return response
        }
        var response = try await next(request, context)
        if allows(origin) {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] =
                "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"
            response.headers[.vary] = "Origin"
        }
        return response
    }
}
