import CloudGreetCore
import Hummingbird
import Persistence
import Providers
import ServiceClients
import ServiceKit

public enum MessagingService {
    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.start(config: config, migrations: MessagingSchema.migrations)
        let db = try runtime.requireDatabase()
        let router = runtime.makeRouter()
        let emails = EmailOutbox(store: EmailStore(db: db), mailer: Mailer.fromConfig(config),
                                 sandboxAllowed: config.isDevelopment, metrics: runtime.metrics)
        if emails.mailer == nil {
            runtime.logger.warning(config.isDevelopment
                ? "SMTP_URL is not set: emails are recorded in the development sandbox, not sent"
                : "SMTP_URL is not set: sending email will fail with 503")
        }
        let telnyx = TelnyxClient.fromConfig(config)
        if telnyx == nil {
            runtime.logger.warning(config.isDevelopment
                ? "TELNYX_API_KEY is not set: texts are recorded in the development sandbox, not sent"
                : "TELNYX_API_KEY is not set: sending SMS will fail with 503")
        }
        let businesses = BusinessDirectory(identity: .live(runtime.clients, as: .messaging))
        let crm = CRMClient.live(runtime.clients, as: .messaging)
        let sms = SMSStore(db: db)
        let texts = SMSOutbox(store: sms, telnyx: telnyx, businesses: businesses, sandboxAllowed: config.isDevelopment,
                              metrics: runtime.metrics)
        let signatures = try config.string("TELNYX_PUBLIC_KEY").map { key in
            guard let verifier = TelnyxSignatureVerifier(base64PublicKey: key) else {
                throw ConfigError(description: "TELNYX_PUBLIC_KEY must be the base64 of a 32-byte Ed25519 public key")
            }
            return verifier
        }
        if signatures == nil {
            runtime.logger.warning(config.isDevelopment
                ? "TELNYX_PUBLIC_KEY is not set: /sms/webhook accepts unsigned requests (development only)"
                : "TELNYX_PUBLIC_KEY is not set: /sms/webhook refuses every request")
        }
        let inboxStore = InboxStore(db: db)
        MessagingRoutes(emails: emails, texts: texts, inbox: inboxStore, signatures: signatures, crm: crm, config: config).register(on: router)
        let inbox = WebhookInbox(store: inboxStore, sms: sms, outbox: texts, businesses: businesses, crm: crm,
                                 logger: runtime.logger)
        let poller = PollingService(every: .milliseconds(250)) { await inbox.drain() }
        return runtime.makeApplication(router: router, services: [poller])
    }
}

extension Mailer {
    /// The SMTP mailer from `SMTP_URL` and friends, or nil when no SMTP server is configured.
    static func fromConfig(_ config: ServiceConfig) -> Mailer? {
        guard let url = config.string("SMTP_URL") else { return nil }
        return Mailer(settings: SMTPSettings(
            url: url, username: config.string("SMTP_USERNAME"), password: config.string("SMTP_PASSWORD"),
            requireTLS: config.bool("SMTP_REQUIRE_TLS", default: config.isProduction),
            from: config.string("EMAIL_FROM", default: "CloudGreet <no-reply@cloudgreet.local>")))
    }
}
