import CloudGreetCore
import Hummingbird
import Persistence
import ServiceClients
import ServiceKit

public enum AnalyticsService {
    /// The variables this service reads besides the shared ones (`ServiceConfig.variables`).
    public static let variables = AnalyticsSettings.variables

    /// Analytics keeps nothing lasting: it reads the other services and caches briefly.
    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let settings = try AnalyticsSettings(config)
        let runtime = try await ServiceRuntime.start(config: config, migrations: nil)
        let router = runtime.makeRouter()
        let reports = Reports(
            businesses: BusinessDirectory(identity: .live(runtime.clients, as: .analytics)),
            crm: .live(runtime.clients, as: .analytics), voice: .live(runtime.clients, as: .analytics),
            messaging: .live(runtime.clients, as: .analytics),
            caches: settings.cacheSeconds > 0 ? Reports.Caches(seconds: settings.cacheSeconds) : nil)
        AnalyticsRoutes(reports: reports).register(on: router)
        return runtime.makeApplication(router: router)
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
