import CloudGreetCore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Persistence
import ServiceClients
import ServiceLifecycle

/// What every route of a service can reach: its configuration, database, clients for other
/// services, metrics and logger.
public struct ServiceRuntime: Sendable {
    public let config: ServiceConfig
    public let database: (any Database)?
    public let clients: InternalClient
    public let metrics: ServiceMetrics
    public let logger: Logger
    public let startedAt: Date

    public var service: ServiceName { config.service }

    /// The database of a service that has one (the ones in `ServiceName.hasDatabase`); asked for
    /// once at start-up, so a service wired without one fails to start instead of failing a request.
    public func requireDatabase() throws -> any Database {
        guard let database else { throw ConfigError(description: "\(service.rawValue) has no database") }
        return database
    }

    /// Opens and migrates the service's database, if it keeps one.
    public static func start(
        config: ServiceConfig, migrations: [Migration]?, breakers: CircuitBreakers = CircuitBreakers()
    )
        async throws -> ServiceRuntime
    {
        let logger = Logger(label: config.service.rawValue)
        var database: (any Database)?
        if let migrations {
            let opened = try await DatabaseFactory.open(url: config.databaseURL, logLabel: "\(config.service.rawValue).database")
            try await Migrator.migrate(opened, scope: config.service.rawValue, migrations)
            database = opened
        }
        return ServiceRuntime(
            config: config, database: database, clients: InternalClient(config: config, breakers: breakers),
            metrics: ServiceMetrics(service: config.service.rawValue), logger: logger, startedAt: Date())
    }

    /// The router every service starts from: request ids, metrics, the error envelope, internal
    /// authentication, `/health` (its own checks) and `/metrics`.
    /// `metricsAccess` guards `/metrics` where it is exposed to the public (the gateway's port).
    public func makeRouter(
        internalAuth: Bool = true, metricsAccess: MetricsAccess? = nil,
        extraChecks: @escaping @Sendable () async -> [HealthCheck] = { [] }
    ) -> Router<AppContext> {
        let router = Router(context: AppContext.self)
        router.middlewares.add(RequestIDMiddleware())
        router.middlewares.add(MetricsMiddleware(metrics: metrics))
        router.middlewares.add(AccessLogMiddleware())
        router.middlewares.add(ErrorMiddleware())
        if internalAuth {
            router.middlewares.add(QueryCheckMiddleware())
            router.middlewares.add(InternalAuthMiddleware(credential: config.internalCredential))
        }
        let runtime = self
        router.get("/health") { request, context in
            var checks: [HealthCheck] = []
            if let database = runtime.database { checks.append(await HealthCheck.database(database)) }
            checks += await extraChecks()
            let healthy = checks.allSatisfy(\.healthy)
            let detailed = request.query["detailed"] != "false"
            let data: JSONValue = [
                "service": .string(runtime.service.rawValue),
                "overall": .string(healthy ? "healthy" : "unhealthy"),
                "checks": .array(checks.map { $0.json(detailed: detailed) }),
                "timestamp": JSONValue(Date()), "version": .string(CloudGreetVersion.current),
                "uptime": JSONValue(Int(Date().timeIntervalSince(runtime.startedAt) * 1000)),
                "environment": .string(runtime.config.environment),
            ]
            return Response.envelope(data, status: healthy ? .ok : .serviceUnavailable, context: context)
        }
        router.get("/metrics") { request, _ in
            if let metricsAccess, !metricsAccess.allows(request) { throw APIError.authRequired }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: await runtime.metrics.render())))
        }
        return router
    }

    /// The service's application; `services` (background workers) start and stop with it. A public
    /// server (the gateway) passes a `connectionCap`.
    public func makeApplication(
        router: Router<AppContext>, services: [any Service] = [],
        connectionCap: ConnectionCap? = nil
    ) -> some ApplicationProtocol {
        // A connection that sends no complete request part (half a header, say) for `IDLE_TIMEOUT_SECONDS`
        // is closed, so slow clients cannot hold connections open forever.
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: connectionCap.map { [$0.handler()] } ?? [],
            idleTimeout: .milliseconds(Int64(config.idleTimeout * 1000)))
        return Application(
            router: router, server: .http1(configuration: http1),
            configuration: .init(
                address: .hostname(config.host, port: config.port),
                serverName: "cloudgreet-\(service.rawValue)"),
            services: services, logger: logger)
    }
}

/// Who may read `/metrics` on a public port: a scraper with `Authorization: Bearer <METRICS_TOKEN>`
/// (Prometheus's `authorization` setting), or another service with an internal credential.
public struct MetricsAccess: Sendable {
    let token: String?
    let credential: InternalCredential

    public init(token: String?, credential: InternalCredential) {
        self.token = token
        self.credential = credential
    }

    public func allows(_ request: Request) -> Bool {
        if let internalToken = request.header(InternalCredential.header), credential.verify(internalToken)?.kind == .service {
            return true
        }
        guard let token, let authorization = request.header("Authorization"), authorization.hasPrefix("Bearer ") else { return false }
        return Secrets.constantTimeEquals(Array(authorization.dropFirst(7).utf8), Array(token.utf8))
    }
}

public enum CloudGreetVersion {
    public static let current = "1.0.0"
}

/// Entry point of each `cloudgreet-<service>` executable.
public enum ServiceMain {
    public static func run(
        _ service: ServiceName,
        build: @Sendable (ServiceConfig) async throws -> any ApplicationProtocol
    ) async {
        do {
            let config = try ServiceConfig(service: service)
            LogSetup.bootstrap(format: config.logFormat, level: Logger.Level(rawValue: config.logLevel) ?? .info)
            let app = try await build(config)
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            FileHandle.standardError.write(Data("cloudgreet-\(service.rawValue) failed to start: \(error)\n".utf8))
            exit(1)
        }
    }
}
