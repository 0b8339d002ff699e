import CloudGreetCore
import Hummingbird
import Persistence
import Providers
import ServiceKit

public enum IdentityService {
    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.start(config: config, migrations: IdentitySchema.migrations)
        let db = try runtime.requireDatabase()
        let router = runtime.makeRouter()
        let routes = IdentityRoutes(
            runtime: runtime, store: IdentityStore(db: db),
            hasher: try await PasswordHasher(cost: config.int("BCRYPT_COST", default: 12)),
            tokens: TokenSigner(secret: config.jwtSecret), messaging: .live(runtime.clients, as: .identity),
            telnyx: TelnyxClient.fromConfig(config))
        routes.register(on: router)
        return runtime.makeApplication(router: router)
    }
}
