import CloudGreetCore

/// The gateway's settings (README, Configuration), checked at start-up.
struct GatewaySettings: ServiceSettings {
    enum Store: String { case memory, postgres }

    let store: Store
    /// At most this many hits a replica takes from a shared counter at once (`SQLRateLimitStore`).
    let sharedBlock: Int
    let limits: FrontDoor.Limits
    let windowSeconds: Int
    let trustedProxies: [String]
    let corsOrigins: [String]
    let credentialCacheSeconds: Double
    let metricsToken: String?
    let connectionsPerClient: Int
    let bufferedBodyBytes: Int
    let openAPISpec: String
    let apiDocsAssets: String

    static let variables = [
        "RATE_LIMIT_STORE", "RATE_LIMIT_SHARED_BLOCK", "RATE_LIMIT_AUTHENTICATED", "RATE_LIMIT_ANONYMOUS", "RATE_LIMIT_WEBHOOK", "RATE_LIMIT_HEALTH",
        "RATE_LIMIT_WINDOW_SECONDS", "TRUSTED_PROXIES", "CORS_ALLOWED_ORIGINS", "API_KEY_CACHE_SECONDS", "METRICS_TOKEN",
        "MAX_CONNECTIONS_PER_CLIENT", "MAX_BUFFERED_BODY_BYTES", "OPENAPI_SPEC", "API_DOCS_ASSETS",
    ]

    init(_ config: ServiceConfig) throws {
        store = try Store(rawValue: config.oneOf("RATE_LIMIT_STORE", default: "memory", ["memory", "postgres"])) ?? .memory
        if store == .postgres, !config.databaseURL.hasPrefix("postgres") {
            throw ConfigError(variable: "RATE_LIMIT_STORE", "postgres needs DATABASE_URL=postgres://...")
        }
        sharedBlock = try config.int("RATE_LIMIT_SHARED_BLOCK", default: 50, 1...1000)
        let perWindow = 1...1_000_000_000
        limits = .init(
            authenticated: try config.int("RATE_LIMIT_AUTHENTICATED", default: 1000, perWindow),
            anonymous: try config.int("RATE_LIMIT_ANONYMOUS", default: 100, perWindow),
            webhook: try config.int("RATE_LIMIT_WEBHOOK", default: 10000, perWindow),
            health: try config.int("RATE_LIMIT_HEALTH", default: 3600, perWindow))
        windowSeconds = try config.int("RATE_LIMIT_WINDOW_SECONDS", default: 3600, 1...86400)
        trustedProxies = config.list("TRUSTED_PROXIES")
        for proxy in trustedProxies where IPRange(proxy) == nil {
            throw ConfigError(variable: "TRUSTED_PROXIES", "must list IPv4 or IPv6 addresses or CIDR blocks", got: proxy)
        }
        corsOrigins = config.list("CORS_ALLOWED_ORIGINS")
        credentialCacheSeconds = try config.double("API_KEY_CACHE_SECONDS", default: 30, 0...60)
        metricsToken = config.string("METRICS_TOKEN")
        connectionsPerClient = try config.int("MAX_CONNECTIONS_PER_CLIENT", default: 128, 1...100_000)
        bufferedBodyBytes = try config.int("MAX_BUFFERED_BODY_BYTES", default: 64 << 20, config.maxBodyBytes...(1 << 34))
        // Relative to the working directory: the checkout for `make run` and the tests; the image sets both.
        openAPISpec = config.string("OPENAPI_SPEC") ?? "docs/openapi.yaml"
        apiDocsAssets = config.string("API_DOCS_ASSETS") ?? ".build/api-docs"
    }
}
