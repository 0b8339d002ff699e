import CloudGreetCore
import Hummingbird
import Persistence
import Providers
import ServiceClients
import ServiceKit

public enum VoiceAgentService {
    /// The variables this service reads besides the shared ones (`ServiceConfig.variables`).
    public static let variables = VoiceAgentSettings.variables

    public static func application(config: ServiceConfig) async throws -> some ApplicationProtocol {
        let settings = try VoiceAgentSettings(config)
        let runtime = try await ServiceRuntime.start(config: config, migrations: VoiceAgentSchema.migrations)
        let db = try runtime.requireDatabase()
        let router = runtime.makeRouter()
        let logger = runtime.logger
        let telnyx = settings.telnyx.map { TelnyxClient(settings: $0) }
        let retell = settings.retell.map { RetellClient(settings: $0) }
        if telnyx == nil {
            logger.warning(
                config.isDevelopment
                    ? "TELNYX_API_KEY is not set: call commands are logged in the development sandbox, not sent"
                    : "TELNYX_API_KEY is not set: incoming calls cannot be answered and are recorded as failed")
        }
        if retell == nil { logger.warning("RETELL_API_KEY is not set: no AI agent takes calls; they go to the escalation phone") }
        let telnyxGate = WebhookGate(provider: "telnyx", verifier: settings.telnyxSignatures, config: config, metrics: runtime.metrics)
        let retellGate = WebhookGate(
            provider: "retell", verifier: settings.retell.map { RetellSignatureVerifier(apiKey: $0.apiKey) }, config: config,
            metrics: runtime.metrics)
        for (gate, path) in [(telnyxGate, "/webrtc/webhook"), (retellGate, "/retell/webhook")] where !gate.acceptsUnsigned {
            if gate.provider == "telnyx" ? settings.telnyxSignatures == nil : settings.retell == nil {
                logger.warning("\(path) refuses every request: its signing key is not set")
            }
        }

        let businesses = BusinessDirectory(identity: .live(runtime.clients, as: .voiceAgent))
        let calls = CallStore(db: db)
        let agents = Agents(store: AgentStore(db: db), calls: calls, businesses: businesses, retell: retell)
        let textBacks = TextBackStore(db: db)
        let outbox = EventOutbox(db: db, logger: logger)
        let sessions = CallSessions(
            flow: CallFlow(
                calls: calls, agents: agents.store, textBacks: textBacks, events: outbox, businesses: businesses,
                crm: .live(runtime.clients, as: .voiceAgent), telnyx: telnyx, retell: retell, sandbox: config.isDevelopment,
                metrics: runtime.metrics, logger: logger))
        let inbox = WebhookInbox<VoiceEvent>(db: db, metrics: runtime.metrics, logger: logger) { VoiceEvent.read(id: $0, payload: $1) }
        VoiceAgentRoutes(
            agents: agents, textBacks: textBacks, inbox: inbox, events: outbox, telnyxGate: telnyxGate, retellGate: retellGate, config: config,
            metrics: runtime.metrics
        ).register(on: router)
        let sender = TextBackSender(
            store: textBacks, messaging: .live(runtime.clients, as: .voiceAgent), metrics: runtime.metrics, logger: logger)
        let publish = EventsClient.live(runtime.clients, as: .voiceAgent)
        let events = PollingService(every: .milliseconds(250)) {
            await inbox.drain(partition: \.callKey) { try await sessions.handle($0) }
            await outbox.relay(to: publish)
        }
        let texts = PollingService(every: .seconds(settings.textBackPollSeconds)) { await sender.tick() }
        return runtime.makeApplication(router: router, services: [events, texts])
    }
}

/// voice-agent's settings: Telnyx call control and its webhook key, Retell, and how often queued
/// missed-call texts are looked for.
struct VoiceAgentSettings: ServiceSettings {
    let telnyx: TelnyxClient.Settings?
    let telnyxSignatures: TelnyxSignatureVerifier?
    let retell: RetellSettings?
    let textBackPollSeconds: Double

    static let variables = TelnyxClient.Settings.variables + RetellSettings.variables + ["TELNYX_PUBLIC_KEY", "TEXT_BACK_POLL_SECONDS"]

    init(_ config: ServiceConfig) throws {
        telnyx = try TelnyxClient.Settings.fromConfig(config)
        retell = try RetellSettings.fromConfig(config)
        telnyxSignatures = try TelnyxSignatureVerifier.fromConfig(config)
        textBackPollSeconds = try config.double("TEXT_BACK_POLL_SECONDS", default: 1, 0.1...3600)
    }
}
