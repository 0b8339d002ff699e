import CloudGreetCore
import Hummingbird
import Persistence
import Providers
import ServiceKit

public enum VoiceAgentService {
    /// The variables this service reads besides the shared ones (`ServiceConfig.variables`).
    public static let variables = VoiceAgentSettings.variables

    /// The schema grows with the service's public routes (later issues); the migrator already runs.
    public static let migrations: [Migration] = []

    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        _ = try VoiceAgentSettings(config)
        let runtime = try await ServiceRuntime.start(config: config, migrations: migrations)
        return runtime.makeApplication(router: runtime.makeRouter())
    }
}

/// voice-agent's providers: Telnyx call control and Retell, checked at start-up for the routes to come.
struct VoiceAgentSettings: ServiceSettings {
    let telnyx: TelnyxClient.Settings?
    let retell: RetellSettings?

    static let variables = TelnyxClient.Settings.variables + RetellSettings.variables + ["TELNYX_PUBLIC_KEY"]

    init(_ config: ServiceConfig) throws {
        telnyx = try TelnyxClient.Settings.fromConfig(config)
        retell = try RetellSettings.fromConfig(config)
    }
}
