import CloudGreetCore
import Hummingbird
import Persistence
import Providers
import ServiceKit

public enum IdentityService {
    /// The variables this service reads besides the shared ones (`ServiceConfig.variables`).
    public static let variables = IdentitySettings.variables

    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let settings = try IdentitySettings(config)
        let runtime = try await ServiceRuntime.start(config: config, migrations: IdentitySchema.migrations)
        let db = try runtime.requireDatabase()
        let router = runtime.makeRouter()
        let routes = IdentityRoutes(
            runtime: runtime, store: IdentityStore(db: db), hasher: try await PasswordHasher(cost: settings.bcryptCost),
            tokens: config.userTokens, messaging: .live(runtime.clients, as: .identity),
            telnyx: settings.telnyx.map { TelnyxClient(settings: $0) })
        routes.register(on: router)
        return runtime.makeApplication(router: router)
    }
}

/// Identity's settings: how hard passwords are hashed, and Telnyx for checking claimed numbers.
struct IdentitySettings: ServiceSettings {
    let bcryptCost: Int
    let telnyx: TelnyxClient.Settings?

    static let variables = ["BCRYPT_COST"] + TelnyxClient.Settings.variables

    init(_ config: ServiceConfig) throws {
        bcryptCost = try config.int("BCRYPT_COST", default: 12, 4...31)
        telnyx = try TelnyxClient.Settings.fromConfig(config)
    }
}
