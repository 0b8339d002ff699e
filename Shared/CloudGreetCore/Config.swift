import Foundation

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }

    /// `NAME must be ... (got 'value')`: the one line a service stops with. Secrets never reach it:
    /// only readers of non-secret settings pass `got`.
    public init(variable: String, _ problem: String, got value: String? = nil) {
        description = "\(variable) \(problem)" + (value.map { " (got '\($0.prefix(80))')" } ?? "")
    }
}

/// A service's own settings, read from the environment through `ServiceConfig` and checked once at
/// start-up: a bad value stops the service with one line naming the variable.
public protocol ServiceSettings: Sendable {
    /// Every variable these settings read: what the deployment files are checked against.
    static var variables: [String] { get }
    init(_ config: ServiceConfig) throws
}

/// The environment of one service: the settings every service shares (DESIGN.md section 4), checked
/// and stored when the service starts, and typed readers that service settings are built with.
public struct ServiceConfig: Sendable {
    public let service: ServiceName
    public let values: [String: String]

    public let environment: String
    public let host: String
    public let port: Int
    public let dataDirectory: String
    public let databaseURL: String
    public let jwtSecret: String
    /// The secret before the last rotation, still accepted when verifying (never used to sign).
    public let jwtSecretPrevious: String?
    public let jwtTTLSeconds: Int
    public let internalSecret: String
    public let internalSecretPrevious: String?
    public let maxBodyBytes: Int
    public let upstreamTimeout: Double
    /// Seconds a connection may go without a complete request part (a header, a body chunk).
    public let idleTimeout: Double
    /// Seconds the gateway gives a client to send a whole request body.
    public let requestBodyTimeout: Double
    public let logLevel: String
    public let logFormat: String
    public let defaultCountryCode: String
    public let appBaseURL: String
    private let serviceURLs: [ServiceName: String]

    /// The variables read here, by every service.
    public static let variables =
        [
            "HOST", "PORT", "DATABASE_URL", "CLOUDGREET_DATA_DIR", "CLOUDGREET_ENV", "JWT_SECRET", "JWT_SECRET_PREVIOUS", "JWT_TTL_SECONDS",
            "INTERNAL_SECRET", "INTERNAL_SECRET_PREVIOUS", "IDENTITY_URL", "CRM_URL", "VOICE_AGENT_URL", "MESSAGING_URL", "ANALYTICS_URL",
            "GATEWAY_URL",
            "MAX_BODY_BYTES", "UPSTREAM_TIMEOUT_SECONDS", "IDLE_TIMEOUT_SECONDS", "REQUEST_BODY_TIMEOUT_SECONDS", "LOG_LEVEL",
            "LOG_FORMAT", "DEFAULT_COUNTRY_CODE", "APP_BASE_URL", "DATABASE_WAIT_SECONDS", "SHUTDOWN_DELAY_SECONDS",
        ] + secretVariables.map { $0 + "_FILE" }

    /// The settings that may instead be read from a file named by `<NAME>_FILE`, as container
    /// platforms mount secrets.
    public static let secretVariables = [
        "JWT_SECRET", "JWT_SECRET_PREVIOUS", "INTERNAL_SECRET", "INTERNAL_SECRET_PREVIOUS", "DATABASE_URL", "METRICS_TOKEN",
        "TELNYX_API_KEY", "TELNYX_PUBLIC_KEY", "RETELL_API_KEY", "SMTP_USERNAME", "SMTP_PASSWORD",
    ]

    public static let developmentJWTSecret = "dev-only-jwt-secret-change-me-0123456789"
    public static let developmentInternalSecret = "dev-only-internal-secret-change-me-0123456789"

    public init(service: ServiceName, environment given: [String: String] = ProcessInfo.processInfo.environment) throws {
        let environment = try Self.readingFiles(given)
        self.service = service
        values = environment
        self.environment = Self.text("CLOUDGREET_ENV", in: environment) ?? "development"
        guard self.environment.count <= 32, self.environment.allSatisfy({ $0.isLetter && $0.isLowercase }) else {
            throw ConfigError(variable: "CLOUDGREET_ENV", "must be a lower-case word such as development, staging or production")
        }
        host = Self.text("HOST", in: environment) ?? "127.0.0.1"
        port = try Self.int("PORT", in: environment, default: service.defaultPort, 1...65535)
        dataDirectory = Self.text("CLOUDGREET_DATA_DIR", in: environment) ?? "./.cloudgreet"
        databaseURL = Self.text("DATABASE_URL", in: environment) ?? "sqlite://\(dataDirectory)/\(service.rawValue).sqlite"
        guard databaseURL.hasPrefix("sqlite://") || databaseURL.hasPrefix("postgres://") || databaseURL.hasPrefix("postgresql://")
        else { throw ConfigError(variable: "DATABASE_URL", "must start with sqlite:// or postgres://") }
        jwtSecret = Self.text("JWT_SECRET", in: environment) ?? Self.developmentJWTSecret
        jwtSecretPrevious = Self.text("JWT_SECRET_PREVIOUS", in: environment)
        internalSecret = Self.text("INTERNAL_SECRET", in: environment) ?? Self.developmentInternalSecret
        internalSecretPrevious = Self.text("INTERNAL_SECRET_PREVIOUS", in: environment)
        jwtTTLSeconds = try Self.int("JWT_TTL_SECONDS", in: environment, default: 3600, 60...2_592_000)
        maxBodyBytes = try Self.int("MAX_BODY_BYTES", in: environment, default: 1_048_576, 1024...(64 << 20))
        upstreamTimeout = try Self.double("UPSTREAM_TIMEOUT_SECONDS", in: environment, default: 10, 0.1...600)
        idleTimeout = try Self.double("IDLE_TIMEOUT_SECONDS", in: environment, default: 30, 0.1...3600)
        requestBodyTimeout = try Self.double("REQUEST_BODY_TIMEOUT_SECONDS", in: environment, default: 30, 0.1...3600)
        logLevel = try Self.oneOf(
            "LOG_LEVEL", in: environment, default: "info",
            ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        logFormat = try Self.oneOf(
            "LOG_FORMAT", in: environment, default: self.environment == "development" ? "text" : "json",
            ["text", "json"])
        defaultCountryCode = Self.text("DEFAULT_COUNTRY_CODE", in: environment) ?? "1"
        guard (1...3).contains(defaultCountryCode.count), defaultCountryCode.allSatisfy(\.isNumber) else {
            throw ConfigError(variable: "DEFAULT_COUNTRY_CODE", "must be a country calling code of 1 to 3 digits")
        }
        appBaseURL = try Self.url("APP_BASE_URL", in: environment, default: "http://localhost:8080")
        var urls: [ServiceName: String] = [:]
        for other in ServiceName.allCases {
            urls[other] = try Self.url(other.urlVariable, in: environment, default: "http://127.0.0.1:\(other.defaultPort)")
        }
        serviceURLs = urls

        // User tokens and internal credentials must not be interchangeable.
        let userSecrets = Set([jwtSecret, jwtSecretPrevious].compactMap { $0 })
        if !userSecrets.isDisjoint(with: [internalSecret, internalSecretPrevious].compactMap { $0 }) {
            throw ConfigError(description: "JWT_SECRET and INTERNAL_SECRET (and their _PREVIOUS values) must be different secrets")
        }
        if !isDevelopment {
            // Outside development a secret must be chosen on purpose: set, long, and not a
            // development default or an example's placeholder.
            var required = ["INTERNAL_SECRET"]
            if service == .gateway || service == .identity { required.append("JWT_SECRET") }
            for name in required + ["JWT_SECRET_PREVIOUS", "INTERNAL_SECRET_PREVIOUS"] {
                guard let value = Self.text(name, in: environment) else {
                    if required.contains(name) {
                        throw ConfigError(variable: name, "must be set (or \(name)_FILE) when CLOUDGREET_ENV=\(self.environment)")
                    }
                    continue
                }
                if let problem = Self.weakness(of: value) {
                    throw ConfigError(variable: name, "\(problem) when CLOUDGREET_ENV=\(self.environment)")
                }
            }
        }
    }

    /// Why a secret is not fit for anything but development, or nil when it is.
    static func weakness(of secret: String) -> String? {
        if secret.utf8.count < 32 { return "must be at least 32 bytes" }
        let lowered = secret.lowercased()
        for placeholder in ["change-me", "changeme", "change_me", "example", "dev-only", "placeholder"] where lowered.contains(placeholder) {
            return "is a placeholder (\(placeholder)), not a secret"
        }
        if secret == developmentJWTSecret || secret == developmentInternalSecret { return "is the development secret" }
        return nil
    }

    /// `<NAME>_FILE` for a secret setting: the value read from that file, without its trailing line
    /// break. Setting both is an error.
    static func readingFiles(_ environment: [String: String]) throws -> [String: String] {
        var values = environment
        for name in secretVariables {
            let key = name + "_FILE"
            guard let path = text(key, in: environment) else { continue }
            guard text(name, in: environment) == nil else { throw ConfigError(variable: name, "is set both directly and as \(key)") }
            guard let data = FileManager.default.contents(atPath: path), let content = String(data: data, encoding: .utf8) else {
                throw ConfigError(variable: key, "names a file that cannot be read", got: path)
            }
            values[name] = content.trimmingCharacters(in: .newlines)
        }
        return values
    }

    public var isProduction: Bool { environment == "production" }
    public var isDevelopment: Bool { environment == "development" }

    // MARK: typed readers (a value that is set but does not fit is an error naming its variable)

    public func string(_ name: String) -> String? { Self.text(name, in: values) }
    public func string(_ name: String, default fallback: String) -> String { string(name) ?? fallback }
    public func list(_ name: String) -> [String] {
        (string(name) ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
    public func int(_ name: String, default fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
        try Self.int(name, in: values, default: fallback, range)
    }
    public func double(_ name: String, default fallback: Double, _ range: ClosedRange<Double>) throws -> Double {
        try Self.double(name, in: values, default: fallback, range)
    }
    public func bool(_ name: String, default fallback: Bool) throws -> Bool {
        guard let value = string(name)?.lowercased() else { return fallback }
        if ["1", "true", "yes", "on"].contains(value) { return true }
        if ["0", "false", "no", "off"].contains(value) { return false }
        throw ConfigError(variable: name, "must be true or false", got: value)
    }
    public func oneOf(_ name: String, default fallback: String, _ allowed: [String]) throws -> String {
        try Self.oneOf(name, in: values, default: fallback, allowed)
    }
    public func url(_ name: String, default fallback: String) throws -> String { try Self.url(name, in: values, default: fallback) }

    static func text(_ name: String, in values: [String: String]) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    static func int(_ name: String, in values: [String: String], default fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
        guard let raw = text(name, in: values) else { return fallback }
        guard let value = Int(raw), range.contains(value) else {
            throw ConfigError(variable: name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)", got: raw)
        }
        return value
    }

    static func double(
        _ name: String, in values: [String: String], default fallback: Double, _ range: ClosedRange<Double>
    ) throws
        -> Double
    {
        guard let raw = text(name, in: values) else { return fallback }
        guard let value = Double(raw), value.isFinite, range.contains(value) else {
            throw ConfigError(variable: name, "must be a number from \(range.lowerBound) to \(range.upperBound)", got: raw)
        }
        return value
    }

    static func oneOf(_ name: String, in values: [String: String], default fallback: String, _ allowed: [String]) throws -> String {
        guard let raw = text(name, in: values) else { return fallback }
        guard allowed.contains(raw) else { throw ConfigError(variable: name, "must be one of \(allowed.joined(separator: ", "))", got: raw) }
        return raw
    }

    /// An `http://` or `https://` URL with a host; a trailing `/` is dropped.
    static func url(_ name: String, in values: [String: String], default fallback: String) throws -> String {
        guard let raw = text(name, in: values) else { return fallback }
        guard let parts = URLComponents(string: raw), ["http", "https"].contains(parts.scheme ?? ""), parts.host?.isEmpty == false
        else { throw ConfigError(variable: name, "must be an http:// or https:// URL", got: raw) }
        return raw.hasSuffix("/") ? String(raw.dropLast()) : raw
    }

    public func url(of other: ServiceName) -> String { serviceURLs[other] ?? "http://127.0.0.1:\(other.defaultPort)" }

    public var internalCredential: InternalCredential {
        InternalCredential(secret: internalSecret, previous: internalSecretPrevious, issuer: service)
    }

    /// Signs user tokens with `JWT_SECRET`; verifies those and ones signed with `JWT_SECRET_PREVIOUS`.
    public var userTokens: TokenSigner { TokenSigner(secret: jwtSecret, previous: jwtSecretPrevious) }
}
