import CloudGreetCore
import Hummingbird
import Persistence
import ServiceKit

public enum AnalyticsService {
    /// The variables this service reads besides the shared ones (`ServiceConfig.variables`).
    public static let variables = AnalyticsSettings.variables

    /// Analytics keeps nothing lasting: it reads the other services and caches briefly.
    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        _ = try AnalyticsSettings(config)
        let runtime = try await ServiceRuntime.start(config: config, migrations: nil)
        return runtime.makeApplication(router: runtime.makeRouter())
    }
}

/// How long analytics may serve a cached answer (0 disables the cache).
struct AnalyticsSettings: ServiceSettings {
    let cacheSeconds: Double

    static let variables = ["ANALYTICS_CACHE_SECONDS"]

    init(_ config: ServiceConfig) throws {
        cacheSeconds = try config.double("ANALYTICS_CACHE_SECONDS", default: 5, 0...300)
    }
}
