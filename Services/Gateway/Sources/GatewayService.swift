import AsyncHTTPClient
import CloudGreetCore
import Hummingbird
import NIOCore
import Persistence
import ServiceClients
import ServiceKit

public enum GatewayService {
    /// The variables this service reads besides the shared ones (`ServiceConfig.variables`).
    public static let variables = GatewaySettings.variables

    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let settings = try GatewaySettings(config)
        // The gateway gives up on an upstream sooner than other callers: three failures, one second.
        // Its database holds the idempotency keys, and the rate limits when they are shared.
        let runtime = try await ServiceRuntime.start(
            config: config, migrations: SQLRateLimitStore.migrations + Idempotency.migrations,
            breakers: CircuitBreakers(threshold: 3, cooldown: 1))
        let database = try runtime.requireDatabase()
        let store: any RateLimitStore =
            settings.store == .postgres ? SQLRateLimitStore(db: database, maxBlock: settings.sharedBlock) : MemoryRateLimitStore()
        let idempotency = Idempotency(db: database, lease: Int(config.upstreamTimeout) + 30)

        let http = InternalClient.pooledHTTP
        let clientAddress = ClientAddress(trustedProxies: settings.trustedProxies)
        let limiter = RateLimiter(store: store, window: settings.windowSeconds)

        let router = runtime.makeRouter(
            internalAuth: false, metricsAccess: MetricsAccess(token: settings.metricsToken, credential: config.internalCredential))
        router.middlewares.add(CORSMiddleware(allowed: settings.corsOrigins))
        let frontDoor = FrontDoor(
            authenticator: Authenticator(
                tokens: config.userTokens,
                identity: .live(runtime.clients, as: .gateway),
                cacheSeconds: settings.credentialCacheSeconds),
            limiter: limiter,
            limits: settings.limits,
            clientAddress: clientAddress,
            metrics: runtime.metrics)
        router.middlewares.add(frontDoor)
        // After the front door, so that this 422 carries the rate-limit headers like every answer.
        router.middlewares.add(QueryCheckMiddleware())

        let health = HealthAggregator(config: config, http: http, breakers: runtime.clients.breakers)
        router.get("/api/health") { request, context in
            let report = await health.report(useCache: request.query["cache"] != "false")
            let data = health.json(report, detailed: request.query["detailed"] != "false")
            return Response.envelope(data, status: report.overall == "unhealthy" ? .serviceUnavailable : .ok, context: context)
        }

        let description = try APIDescription(
            specPath: settings.openAPISpec, assetsDirectory: settings.apiDocsAssets, logger: runtime.logger)
        router.get("/api/openapi.json") { _, _ in description.specResponse() }
        router.get("/api/docs") { _, _ in description.pageResponse() }
        router.get("/api/docs/{file}") { _, context in try description.fileResponse(context.parameters.get("file") ?? "") }

        let proxy = Proxy(
            config: config, http: http, breakers: runtime.clients.breakers, metrics: runtime.metrics,
            bodyTimeout: config.requestBodyTimeout,
            buffers: BodyBudget(bytes: settings.bufferedBodyBytes), idempotency: idempotency)
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("/api/**", method: method) { request, context in
                guard let route = context.upstream else { throw APIError.notFound() }
                // Anonymous routes go on anonymously, whatever credential came along.
                let caller = route.access == .authenticated ? context.caller ?? .anonymous : .anonymous
                return try await proxy.forward(
                    request, path: route.path, to: route.service, caller: caller,
                    clientIP: context.clientAddress ?? "unknown", context: context)
            }
        }
        // Counters of finished windows are dropped, so the shared table stays the size of one window;
        // so are idempotency keys past their 24 hours.
        let pruning = PollingService(every: .seconds(60)) {
            do { try await limiter.prune() } catch { runtime.logger.warning("could not prune rate limit counters") }
            do { try await idempotency.prune() } catch { runtime.logger.warning("could not prune idempotency keys") }
        }
        let cap = ConnectionCap(
            perClient: settings.connectionsPerClient,
            clientKey: ClientAddress.limitKey, isExempt: { clientAddress.isTrusted($0) })
        let lane = FastLane(
            frontDoor: frontDoor, connections: UpstreamConnections(config: config), credentials: proxy.credentials,
            breakers: runtime.clients.breakers, metrics: runtime.metrics, logger: runtime.logger, timeout: config.upstreamTimeout,
            serverName: runtime.serverName)
        return runtime.makeApplication(router: router, services: [pruning], connectionCap: cap, lane: lane.handler)
    }
}
