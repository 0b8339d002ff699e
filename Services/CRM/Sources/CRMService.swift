import CloudGreetCore
import Hummingbird
import Persistence
import ServiceClients
import ServiceKit

public enum CRMService {
    /// The variables this service reads besides the shared ones (`ServiceConfig.variables`).
    public static let variables = CRMSettings.variables

    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let settings = try CRMSettings(config)
        let runtime = try await ServiceRuntime.start(config: config, migrations: CRMSchema.migrations)
        let db = try runtime.requireDatabase()
        let router = runtime.makeRouter()
        let (leadStore, appointments, reminderStore) = (LeadStore(db: db), AppointmentStore(db: db), ReminderStore(db: db))
        let businesses = BusinessDirectory(identity: .live(runtime.clients, as: .crm))
        let messenger = Messenger(messaging: .live(runtime.clients, as: .crm))
        let events = EventOutbox(db: db, logger: runtime.logger)
        let bookings = Bookings(
            leads: leadStore, appointments: appointments, reminders: reminderStore, businesses: businesses, messenger: messenger,
            events: events)
        let erasureStore = ErasureStore(db: db)
        let leads = Leads(
            leads: leadStore, appointments: appointments, reminders: reminderStore, erasures: erasureStore, events: events,
            qualifyThreshold: settings.qualifyThreshold)
        let erasures = ErasureWorker(
            store: erasureStore,
            clients: Dictionary(uniqueKeysWithValues: ErasureStore.services.map { ($0, .live(runtime.clients, of: $0, as: .crm)) }),
            logger: runtime.logger, metrics: runtime.metrics)
        CRMRoutes(runtime: runtime, settings: settings, leads: leads, bookings: bookings, erasures: erasures).register(on: router)
        let reminders = ReminderWorker(
            bookings: bookings, metrics: runtime.metrics, logger: runtime.logger)
        return runtime.makeApplication(
            router: router,
            services: [
                PollingService(every: .seconds(settings.reminderPollSeconds)) { await reminders.tick() },
                PollingService(every: .seconds(settings.erasurePollSeconds)) { await erasures.tick() },
                PollingService(every: .milliseconds(250)) { [publish = EventsClient.live(runtime.clients, as: .crm)] in
                    await events.relay(to: publish)
                },
            ])
    }
}

/// crm's settings: where a qualification score turns a lead `qualified`, and how often due
/// reminders and erasure parts waiting for another service are looked for.
struct CRMSettings: ServiceSettings {
    let qualifyThreshold: Int
    let reminderPollSeconds: Double
    let erasurePollSeconds: Double

    static let variables = ["QUALIFY_THRESHOLD", "REMINDER_POLL_SECONDS", "ERASURE_POLL_SECONDS"]

    init(_ config: ServiceConfig) throws {
        qualifyThreshold = try config.int("QUALIFY_THRESHOLD", default: 60, 0...100)
        reminderPollSeconds = try config.double("REMINDER_POLL_SECONDS", default: 30, 0.1...3600)
        erasurePollSeconds = try config.double("ERASURE_POLL_SECONDS", default: 30, 0.1...3600)
    }
}
