import CloudGreetCore
import Hummingbird
import Persistence
import ServiceKit

public enum CRMService {
    /// The schema grows with the service's public routes (later issues); the migrator already runs.
    public static let migrations: [Migration] = []

    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.start(config: config, migrations: migrations)
        return runtime.makeApplication(router: runtime.makeRouter())
    }
}
