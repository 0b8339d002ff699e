import CloudGreetCore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
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
    /// Set when shutdown begins: `/readyz` answers 503 from then on, so load balancers stop sending
    /// new requests while those in flight finish.
    public var draining: Draining { .process }

    public var service: ServiceName { config.service }

    /// The `Server` header of the service's answers.
    public var serverName: String { "cloudgreet-\(service.rawValue)" }

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
            database = try await openDatabase(config: config, migrations: migrations, logger: logger)
        }
        return ServiceRuntime(
            config: config, database: database, clients: InternalClient(config: config, breakers: breakers),
            metrics: ServiceMetrics(service: config.service.rawValue), logger: logger, startedAt: Date())
    }

    /// Opens and migrates the database, trying again with backoff while it cannot be reached (a
    /// database that starts after the service, as in compose or a rolling restart) for up to
    /// `DATABASE_WAIT_SECONDS`; each failed try is logged.
    static func openDatabase(config: ServiceConfig, migrations: [Migration], logger: Logger) async throws -> any Database {
        let wait = try config.double("DATABASE_WAIT_SECONDS", default: 60, 0...3600)
        let policy = RetryPolicy(attempts: 1000, baseDelay: .milliseconds(250), maxDelay: .seconds(5), deadline: .seconds(wait))
        var attempt = 0
        return try await policy.run {
            attempt += 1
            let opened = try await DatabaseFactory.open(url: config.databaseURL, logLabel: "\(config.service.rawValue).database")
            do {
                // The PostgreSQL pool would wait for a connection without end; a probe that gives up
                // makes an unreachable database a failed try, logged and tried again here.
                _ = try await withTimeout(seconds: 3) { try await opened.query("SELECT 1 AS ok") }
                try await Migrator.migrate(opened, scope: config.service.rawValue, migrations)
                return opened
            } catch {
                await opened.close()
                throw error
            }
        } decide: { result in
            guard case .failure(let error) = result else { return .stop }
            // A setting that is wrong (a malformed URL) will not heal by waiting.
            if error is ConfigError { return .stop }
            logger.warning(
                "database not reachable yet; trying again",
                metadata: ["attempt": .stringConvertible(attempt), "error": .string(String(describing: type(of: error)))])
            return .retry(after: nil)
        }
    }

    /// The router every service starts from: request ids, metrics, the error envelope, internal
    /// authentication, `/health` (its own checks), `/livez`, `/readyz` and `/metrics`.
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
        // Alive: the process answers. No database, nothing that a slow dependency could fail, so a
        // liveness probe never restarts a service for someone else's trouble.
        router.get("/livez") { _, context in
            Response.envelope(["service": .string(runtime.service.rawValue), "status": "alive"], context: context)
        }
        @Sendable func health(_ request: Request, _ context: AppContext, readiness: Bool) async throws -> Response {
            var checks: [HealthCheck] = []
            if readiness, await runtime.draining.isDraining {
                checks.append(HealthCheck(name: "shutdown", healthy: false, message: "Draining before shutdown", durationMilliseconds: 0))
            }
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
        router.get("/health") { request, context in try await health(request, context, readiness: false) }
        // Ready: the full health, and false from the moment shutdown begins.
        router.get("/readyz") { request, context in try await health(request, context, readiness: true) }
        router.get("/metrics") { request, _ in
            if let metricsAccess, !metricsAccess.allows(request) { throw APIError.authRequired }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: runtime.metrics.render())))
        }
        return router
    }

    /// The service's application; `services` (background workers) start and stop with it. A public
    /// server (the gateway) passes a `connectionCap`.
    /// `lane` (the gateway's fast lane) makes a handler for each connection that may answer requests
    /// itself before the router sees them (`LaneChannel`).
    public func makeApplication(
        router: Router<AppContext>, services: [any Service] = [],
        connectionCap: ConnectionCap? = nil, lane: (@Sendable () -> any ChannelHandler)? = nil
    ) -> some ApplicationProtocol {
        // A connection that sends no complete request part (half a header, say) for `IDLE_TIMEOUT_SECONDS`
        // is closed, so slow clients cannot hold connections open forever.
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: connectionCap.map { [$0.handler()] } ?? [],
            idleTimeout: .milliseconds(Int64(config.idleTimeout * 1000)))
        let server: HTTPServerBuilder =
            if let lane {
                HTTPServerBuilder { responder in LaneChannel(http1: HTTP1Channel(responder: responder, configuration: http1), lane: lane) }
            } else {
                .http1(configuration: http1)
            }
        return Application(
            router: router, server: server,
            configuration: .init(
                address: .hostname(config.host, port: config.port),
                serverName: serverName),
            services: services + [EventLoopLag.Monitor(lag: metrics.eventLoopLag, group: MultiThreadedEventLoopGroup.singleton)],
            onServerRunning: { _ in ProcessMemory.releaseFreed() },
            logger: logger)
    }
}

/// Whether this process is shutting down (one per process: the all-in-one `cloudgreet` drains its
/// six services together).
public actor Draining {
    public static let process = Draining()
    public private(set) var isDraining = false
    func begin() { isDraining = true }
}

/// On graceful shutdown (SIGTERM), marks the process as draining and waits `delay` seconds before
/// the applications are told to stop: `/readyz` is seen failing and traffic moves elsewhere while
/// the servers still answer. Listed after the applications in the process's `ServiceGroup`, which
/// shuts services down in reverse order, so it goes first.
public struct DrainOnShutdown: Service {
    let delay: Double
    let logger: Logger

    public init(config: ServiceConfig, logger: Logger) throws {
        delay = try config.double("SHUTDOWN_DELAY_SECONDS", default: config.isDevelopment ? 0 : 5, 0...120)
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await Draining.process.begin()
        logger.info("draining before shutdown", metadata: ["delay_seconds": .stringConvertible(delay)])
        if delay > 0 { try? await Task.sleep(for: .milliseconds(Int(delay * 1000))) }
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
    /// Runs the service on the task pool while the main thread only waits. The main is synchronous
    /// on purpose: an async main parks the main thread in `dispatch_main`, which valgrind cannot
    /// follow, and `scripts/bench-instructions.sh` counts each service's instructions per request
    /// under callgrind.
    public static func run(
        _ service: ServiceName,
        build: @escaping @Sendable (ServiceConfig) async throws -> any ApplicationProtocol
    ) -> Never {
        let finished = DispatchSemaphore(value: 0)
        Task {
            await serve(service, build: build)
            finished.signal()
        }
        finished.wait()
        exit(0)
    }

    private static func serve(
        _ service: ServiceName,
        build: @Sendable (ServiceConfig) async throws -> any ApplicationProtocol
    ) async {
        do {
            let config = try ServiceConfig(service: service)
            LogSetup.bootstrap(format: config.logFormat, level: Logger.Level(rawValue: config.logLevel) ?? .info)
            let app = try await build(config)
            let logger = Logger(label: service.rawValue)
            let group = ServiceGroup(
                configuration: .init(
                    services: [app, try DrainOnShutdown(config: config, logger: logger)], gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger))
            try await group.run()
        } catch {
            FileHandle.standardError.write(Data("cloudgreet-\(service.rawValue) failed to start: \(error)\n".utf8))
            exit(1)
        }
    }
}
