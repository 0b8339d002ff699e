import CloudGreetCore
import Hummingbird
import Persistence
import ServiceClients
import ServiceKit

public enum CRMService {
    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.start(config: config, migrations: CRMSchema.migrations)
        let db = try runtime.requireDatabase()
        let router = runtime.makeRouter()
        let store = CRMStore(db: db)
        let businesses = BusinessDirectory(identity: .live(runtime.clients, as: .crm))
        let messenger = Messenger(messaging: .live(runtime.clients, as: .crm))
        CRMRoutes(runtime: runtime, store: store, businesses: businesses, messenger: messenger).register(on: router)
        let reminders = ReminderWorker(store: store, businesses: businesses, messenger: messenger, logger: runtime.logger)
        let poller = PollingService(every: .seconds(config.double("REMINDER_POLL_SECONDS", default: 30))) {
            await reminders.tick()
        }
        return runtime.makeApplication(router: router, services: [poller])
    }
}
