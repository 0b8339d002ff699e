import CloudGreetCore
import Hummingbird
import Persistence
import ServiceKit

public enum AnalyticsService {
    /// Analytics keeps nothing lasting: it reads the other services and caches briefly.

    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.start(config: config, migrations: nil)
        return runtime.makeApplication(router: runtime.makeRouter())
    }
}
