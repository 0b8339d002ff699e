import CloudGreetCore
import Hummingbird
import Persistence
import Providers
import ServiceClients
import ServiceKit

public enum MessagingService {
    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let runtime = try await ServiceRuntime.start(config: config, migrations: MessagingSchema.migrations)
        let router = runtime.makeRouter()
        let emails = EmailOutbox(store: EmailStore(db: runtime.db), mailer: Mailer.fromConfig(config),
                                 sandboxAllowed: config.isDevelopment)
        if emails.mailer == nil {
            runtime.logger.warning(config.isDevelopment
                ? "SMTP_URL is not set: emails are recorded in the development sandbox, not sent"
                : "SMTP_URL is not set: sending email will fail with 503")
        }
        let telnyx = config.string("TELNYX_API_KEY").map {
            TelnyxClient(settings: .init(apiKey: $0, baseURL: config.string("TELNYX_API_BASE", default: "https://api.telnyx.com/v2"),
                                         messagingProfileID: config.string("TELNYX_MESSAGING_PROFILE_ID")))
        }
        if telnyx == nil {
            runtime.logger.warning(config.isDevelopment
                ? "TELNYX_API_KEY is not set: texts are recorded in the development sandbox, not sent"
                : "TELNYX_API_KEY is not set: sending SMS will fail with 503")
        }
        let texts = SMSOutbox(store: SMSStore(db: runtime.db), telnyx: telnyx,
                              businesses: BusinessDirectory(client: runtime.clients), sandboxAllowed: config.isDevelopment)
        MessagingRoutes(emails: emails, texts: texts, config: config).register(on: router)
        return runtime.makeApplication(router: router)
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
