import Foundation

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Configuration from the environment variables of DESIGN.md section 4.
public struct ServiceConfig: Sendable {
    public let service: ServiceName
    public let values: [String: String]

    /// Every variable the services read (DESIGN.md section 4 plus the few this project adds).
    /// Deployment files are checked against this list by the tests.
    public static let knownVariables: Set<String> = [
        "HOST", "PORT", "DATABASE_URL", "CLOUDGREET_DATA_DIR", "CLOUDGREET_ENV", "JWT_SECRET", "JWT_TTL_SECONDS",
        "INTERNAL_SECRET", "IDENTITY_URL", "CRM_URL", "VOICE_AGENT_URL", "MESSAGING_URL", "ANALYTICS_URL", "GATEWAY_URL",
        "RATE_LIMIT_AUTHENTICATED", "RATE_LIMIT_ANONYMOUS", "RATE_LIMIT_WEBHOOK", "RATE_LIMIT_WINDOW_SECONDS",
        "RATE_LIMIT_STORE", "TRUSTED_PROXIES", "CORS_ALLOWED_ORIGINS", "MAX_BODY_BYTES", "UPSTREAM_TIMEOUT_SECONDS",
        "API_KEY_CACHE_SECONDS", "TELNYX_API_KEY", "TELNYX_API_BASE", "TELNYX_PUBLIC_KEY", "TELNYX_MESSAGING_PROFILE_ID",
        "RETELL_API_KEY", "RETELL_API_BASE", "SMTP_URL", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_REQUIRE_TLS",
        "EMAIL_FROM", "APP_BASE_URL", "DEFAULT_COUNTRY_CODE", "QUALIFY_THRESHOLD", "ANALYTICS_CACHE_SECONDS",
        "BCRYPT_COST", "LOG_LEVEL", "LOG_FORMAT", "REMINDER_POLL_SECONDS",
        "TELNYX_TIMEOUT_SECONDS", "IDLE_TIMEOUT_SECONDS", "REQUEST_BODY_TIMEOUT_SECONDS", "METRICS_TOKEN",
        "RATE_LIMIT_HEALTH", "MAX_CONNECTIONS_PER_CLIENT", "MAX_BUFFERED_BODY_BYTES",
    ]

    public static let developmentJWTSecret = "dev-only-jwt-secret-change-me-0123456789"
    public static let developmentInternalSecret = "dev-only-internal-secret-change-me-0123456789"

    public init(service: ServiceName, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.service = service
        values = environment
        // User tokens and internal credentials must not be interchangeable.
        if jwtSecret == internalSecret {
            throw ConfigError(description: "JWT_SECRET and INTERNAL_SECRET must be different secrets")
        }
        if isProduction {
            for (name, devValue) in [("JWT_SECRET", Self.developmentJWTSecret), ("INTERNAL_SECRET", Self.developmentInternalSecret)]
            where service == .gateway || service == .identity || name == "INTERNAL_SECRET" {
                guard let value = environment[name], value != devValue, value.utf8.count >= 32 else {
                    throw ConfigError(description: "\(name) must be set to a secret of at least 32 bytes when CLOUDGREET_ENV=production")
                }
            }
        }
    }

    public func string(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }
    public func string(_ name: String, default fallback: String) -> String { string(name) ?? fallback }
    public func int(_ name: String, default fallback: Int) -> Int { string(name).flatMap(Int.init) ?? fallback }
    public func double(_ name: String, default fallback: Double) -> Double { string(name).flatMap(Double.init) ?? fallback }
    public func bool(_ name: String, default fallback: Bool) -> Bool {
        guard let value = string(name)?.lowercased() else { return fallback }
        return ["1", "true", "yes", "on"].contains(value)
    }
    public func list(_ name: String) -> [String] {
        (string(name) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public var environment: String { string("CLOUDGREET_ENV", default: "development") }
    public var isProduction: Bool { environment == "production" }
    public var isDevelopment: Bool { environment == "development" }
    public var host: String { string("HOST", default: "127.0.0.1") }
    public var port: Int { int("PORT", default: service.defaultPort) }
    public var dataDirectory: String { string("CLOUDGREET_DATA_DIR", default: "./.cloudgreet") }
    public var databaseURL: String {
        string("DATABASE_URL") ?? "sqlite://\(dataDirectory)/\(service.rawValue).sqlite"
    }
    public var jwtSecret: String { string("JWT_SECRET", default: Self.developmentJWTSecret) }
    public var jwtTTLSeconds: Int { int("JWT_TTL_SECONDS", default: 3600) }
    public var internalSecret: String { string("INTERNAL_SECRET", default: Self.developmentInternalSecret) }
    public var maxBodyBytes: Int { int("MAX_BODY_BYTES", default: 1_048_576) }
    public var upstreamTimeout: Double { double("UPSTREAM_TIMEOUT_SECONDS", default: 10) }
    /// Seconds a connection may go without a complete request part (a header, a body chunk).
    public var idleTimeout: Double { max(0.1, double("IDLE_TIMEOUT_SECONDS", default: 30)) }
    /// Seconds the gateway gives a client to send a whole request body.
    public var requestBodyTimeout: Double { max(0.1, double("REQUEST_BODY_TIMEOUT_SECONDS", default: 30)) }
    public var logLevel: String { string("LOG_LEVEL", default: "info") }
    public var logFormat: String { string("LOG_FORMAT", default: isDevelopment ? "text" : "json") }
    public var defaultCountryCode: String { string("DEFAULT_COUNTRY_CODE", default: "1") }
    public var appBaseURL: String { string("APP_BASE_URL", default: "http://localhost:8080") }

    public func url(of other: ServiceName) -> String {
        string(other.urlVariable) ?? "http://127.0.0.1:\(other.defaultPort)"
    }

    public var internalCredential: InternalCredential { InternalCredential(secret: internalSecret, issuer: service) }
}
