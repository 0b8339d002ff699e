import CloudGreetCore
import Curl
import Hummingbird
import Persistence
import Providers
import ServiceClients
import ServiceKit

public enum MessagingService {
    /// The variables this service reads besides the shared ones (`ServiceConfig.variables`).
    public static let variables = MessagingSettings.variables

    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let settings = try MessagingSettings(config)
        let runtime = try await ServiceRuntime.start(config: config, migrations: MessagingSchema.migrations)
        let db = try runtime.requireDatabase()
        let router = runtime.makeRouter()
        let emails = EmailOutbox(
            store: EmailStore(db: db), mailer: settings.smtp.map { Mailer(settings: $0) },
            sandboxAllowed: config.isDevelopment, metrics: runtime.metrics)
        if emails.mailer == nil {
            runtime.logger.warning(
                config.isDevelopment
                    ? "SMTP_URL is not set: emails are recorded in the development sandbox, not sent"
                    : "SMTP_URL is not set: sending email will fail with 503")
        }
        let telnyx = settings.telnyx.map { TelnyxClient(settings: $0) }
        if telnyx == nil {
            runtime.logger.warning(
                config.isDevelopment
                    ? "TELNYX_API_KEY is not set: texts are recorded in the development sandbox, not sent"
                    : "TELNYX_API_KEY is not set: sending SMS will fail with 503")
        }
        let businesses = BusinessDirectory(identity: .live(runtime.clients, as: .messaging))
        let crm = CRMClient.live(runtime.clients, as: .messaging)
        let outbox = EventOutbox(db: db, logger: runtime.logger)
        let sms = SMSStore(db: db, events: outbox)
        let texts = SMSOutbox(
            store: sms, telnyx: telnyx, businesses: businesses, sandboxAllowed: config.isDevelopment,
            metrics: runtime.metrics)
        let gate = WebhookGate(
            provider: "telnyx", verifier: settings.signatures,
            config: config, metrics: runtime.metrics)
        if settings.signatures == nil {
            runtime.logger.warning(
                gate.acceptsUnsigned
                    ? "TELNYX_PUBLIC_KEY is not set: /sms/webhook accepts unsigned requests (development only)"
                    : "TELNYX_PUBLIC_KEY is not set: /sms/webhook refuses every request")
        }
        let inbox = WebhookInbox<TelnyxEvent>(db: db, metrics: runtime.metrics, logger: runtime.logger) { id, payload in
            // The raw body only names events without an id; this one has the id it was stored under.
            var event = TelnyxEvent.parse(payload, rawBody: [])
            event?.id = id
            return event
        }
        let events = TelnyxEvents(sms: sms, outbox: texts, businesses: businesses, crm: crm, logger: runtime.logger)
        let webhooks = Webhooks(
            store: WebhookStore(db: db), settings: settings.webhooks, curl: CurlClient(threads: 4), emails: emails,
            businesses: businesses, logger: runtime.logger, metrics: runtime.metrics)
        MessagingRoutes(emails: emails, texts: texts, inbox: inbox, webhooks: webhooks.store, gate: gate, crm: crm, config: config)
            .register(on: router)
        WebhookRoutes(webhooks: webhooks, config: config).register(on: router)
        // messaging's own events go straight to its webhook tables, in the order they were recorded.
        let intake = EventsClient { batch, _ in try await webhooks.store.intake(batch, retryFor: settings.webhooks.retryFor) }
        return runtime.makeApplication(
            router: router,
            services: [
                PollingService(every: .milliseconds(250)) {
                    await inbox.drain { try await events.handle($0) }
                    await outbox.relay(to: intake)
                },
                PollingService(every: .seconds(settings.webhooks.pollSeconds)) { await webhooks.tick() },
                PollingService(every: .seconds(3600)) {
                    do { try await webhooks.store.prune() } catch { runtime.logger.warning("could not prune webhook history") }
                },
            ])
    }
}

/// Messaging's settings: how texts and emails leave, the key Telnyx's webhooks are checked with,
/// and how the businesses' own webhooks are delivered.
struct MessagingSettings: ServiceSettings {
    let smtp: SMTPSettings?
    let telnyx: TelnyxClient.Settings?
    let signatures: TelnyxSignatureVerifier?
    let webhooks: WebhookSettings

    static let variables =
        SMTPSettings.variables + TelnyxClient.Settings.variables + ["TELNYX_PUBLIC_KEY"] + WebhookSettings.variables

    init(_ config: ServiceConfig) throws {
        smtp = try SMTPSettings.fromConfig(config)
        telnyx = try TelnyxClient.Settings.fromConfig(config)
        signatures = try TelnyxSignatureVerifier.fromConfig(config)
        webhooks = try WebhookSettings(config)
    }
}
