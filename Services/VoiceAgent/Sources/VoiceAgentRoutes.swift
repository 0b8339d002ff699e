import CloudGreetCore
import Foundation
import Hummingbird
import Persistence
import ServiceClients
import ServiceKit

/// voice-agent's HTTP surface: `/agents*`, `/calls*`, and the Telnyx voice and Retell webhooks.
struct VoiceAgentRoutes: Sendable {
    let agents: Agents
    let textBacks: TextBackStore
    let inbox: WebhookInbox<VoiceEvent>
    let events: EventOutbox
    let telnyxGate: WebhookGate
    let retellGate: WebhookGate
    let config: ServiceConfig
    let metrics: ServiceMetrics

    func register(on router: Router<AppContext>) {
        let business = router.group().add(middleware: TenantMiddleware())
        business.get("/agents", use: listAgents)
        business.get("/agents/{id}", use: getAgent)
        business.get("/agents/{id}/status", use: agentStatus)
        business.get("/calls", use: listCalls)
        business.get("/calls/{id}", use: getCall)
        let admin = router.group().add(middleware: TenantMiddleware()).add(middleware: RoleMiddleware(.admin))
        admin.post("/agents", use: createAgent)
        admin.put("/agents/{id}", use: updateAgent)
        admin.delete("/agents/{id}", use: deleteAgent)
        admin.post("/agents/{id}/start", use: startAgent)
        admin.post("/agents/{id}/stop", use: stopAgent)
        let services = router.group().add(middleware: ServiceOnlyMiddleware())
        services.get("/internal/stats", use: stats)
        services.put("/internal/erasures/{id}", use: erase)
        router.post("/webrtc/webhook", use: telnyxWebhook)
        router.post("/retell/webhook", use: retellWebhook)
    }

    // MARK: agents

    @Sendable func listAgents(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let query = request.query
        let page = try Page(query: query)
        let status = query["status"].map { AgentStatus(rawValue: $0) }
        if case .some(nil) = status { throw APIError.validation(field: "status", "must be active or inactive") }
        let listed = try await agents.store.agents(businessID: businessID, status: status ?? nil, page: page)
        return .envelope(listed.json("agents"), context: context)
    }

    @Sendable func createAgent(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes, businessID: businessID)
        let name = fields.string("name", required: true, maxLength: 100)
        let settings = Self.readSettings(fields)
        try fields.finish()
        let now = Date()
        let agent = Agent(
            id: ResourceID.make(.agent), businessID: businessID, name: try fields.present(name, "name"),
            voiceSettings: settings.voice ?? [:], behaviorSettings: settings.behavior ?? [:], workingHours: settings.hours ?? nil,
            startedAt: nil, retellAgentID: nil, retellLLMID: nil, createdAt: now, updatedAt: now)
        try await agents.store.insert(agent)
        return .envelope(agent.json, status: .created, message: "Agent created", context: context)
    }

    @Sendable func getAgent(_ request: Request, context: AppContext) async throws -> Response {
        .envelope(try await ownAgent(context).json, context: context)
    }

    @Sendable func updateAgent(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes, businessID: businessID)
        var agent = try await ownAgent(context)
        if fields.has("name") { agent.name = fields.string("name", required: true, maxLength: 100) ?? agent.name }
        let settings = Self.readSettings(fields)
        try fields.finish()
        if let voice = settings.voice { agent.voiceSettings = voice }
        if let behavior = settings.behavior { agent.behaviorSettings = behavior }
        if let hours = settings.hours { agent.workingHours = hours }
        let changed = try await agents.change(agent, requestID: context.requestID)
        return .envelope(changed.json, message: "Agent updated", context: context)
    }

    @Sendable func deleteAgent(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let id = try context.parameters.require("id", context: context)
        guard try await agents.store.delete(id: id, businessID: businessID) else { throw APIError.notFound(.agentNotFound, "Agent") }
        return .envelope(["id": .string(id), "deleted": true], message: "Agent deleted", context: context)
    }

    @Sendable func startAgent(_ request: Request, context: AppContext) async throws -> Response {
        let started = try await agents.start(try await ownAgent(context), requestID: context.requestID)
        return .envelope(started.json, message: "Agent started", context: context)
    }

    @Sendable func stopAgent(_ request: Request, context: AppContext) async throws -> Response {
        let stopped = try await agents.stop(try await ownAgent(context))
        return .envelope(stopped.json, message: "Agent stopped", context: context)
    }

    @Sendable func agentStatus(_ request: Request, context: AppContext) async throws -> Response {
        .envelope(try await agents.status(try await ownAgent(context), requestID: context.requestID), context: context)
    }

    /// The optional settings objects, each replaced whole when sent; `working_hours: null` clears the hours.
    static func readSettings(_ fields: FieldReader) -> (voice: JSONValue?, behavior: JSONValue?, hours: JSONValue??) {
        let voice = fields.nested("voice_settings").flatMap(AgentRules.voice)
        let behavior = fields.nested("behavior_settings").flatMap(AgentRules.behavior)
        var hours: JSONValue??
        if fields.object["working_hours"] == .null {
            hours = .some(nil)
        } else if let reader = fields.nested("working_hours") {
            hours = OpeningHours.validate(reader).map { .some($0) }
        }
        return (voice, behavior, hours)
    }

    private func ownAgent(_ context: AppContext) async throws -> Agent {
        let businessID = try context.scoped().businessID
        let id = try context.parameters.require("id", context: context)
        guard let agent = try await agents.store.agent(id: id, businessID: businessID) else { throw APIError.notFound(.agentNotFound, "Agent") }
        return agent
    }

    // MARK: calls

    @Sendable func listCalls(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let query = request.query
        let page = try Page(query: query)
        let fields = FieldReader(query: query)
        let lead = fields.id("lead_id", .lead)
        let status = fields.oneOf("status", CallStatus.self)
        let direction = fields.oneOf("direction", CallDirection.self)
        let start = fields.date("start_date")
        let end = fields.date("end_date")
        try fields.finish()
        let listed = try await agents.calls.calls(
            businessID: businessID, filter: .init(leadID: lead, status: status, direction: direction, start: start, end: end), page: page)
        return .envelope(listed.json("calls"), context: context)
    }

    @Sendable func getCall(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let id = try context.parameters.require("id", context: context)
        guard let call = try await agents.calls.call(id: id, businessID: businessID) else { throw APIError.notFound(.resourceNotFound, "Call") }
        return .envelope(call.detail, context: context)
    }

    /// For analytics: call counts and durations (`CallStats`).
    @Sendable func stats(_ request: Request, context: AppContext) async throws -> Response {
        let query = try StatsQuery(query: request.query)
        let stats = try await agents.calls.stats(businessID: query.businessID, period: query.period, today: query.narrowed(query.today))
        return .envelope(try JSONValueEncoder.encode(stats), context: context)
    }

    /// crm's request to erase a person (`Erasure`): their calls, text-backs, and the provider and
    /// business webhook events about them, in one transaction. Erasing again changes nothing more.
    @Sendable func erase(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.parameters.require("id", context: context)
        let erasure = try Erasure(id: id, fields: try await request.fields(context: context, maxBytes: config.maxBodyBytes))
        try await agents.calls.db.transaction { [agents, textBacks, inbox, events] db in
            let callIDs = try await agents.calls.erase(erasure, on: db)
            try await textBacks.erase(erasure, on: db)
            let mentions = [erasure.leadID] + [erasure.phone].compactMap { $0 } + callIDs
            try await inbox.erase(mentioning: mentions, on: db)
            try await events.erase(businessID: erasure.businessID, mentioning: mentions, on: db)
        }
        return .envelope(["id": .string(id), "erased": true], context: context)
    }

    // MARK: webhooks

    /// Verified, stored once, answered at once; `CallSessions` does the work, driven by the inbox.
    @Sendable func telnyxWebhook(_ request: Request, context: AppContext) async throws -> Response {
        let bytes = try await telnyxGate.body(of: request)
        guard let json = try? JSONValue.decode(bytes), case .object = json else { throw APIError.badJSON() }
        guard let event = TelnyxCallEvent.parse(json, rawBody: bytes) else {
            throw APIError.validation(field: "event_type", "is not a Telnyx call event")
        }
        return try await record(event.id, provider: "telnyx", type: event.type, json, context)
    }

    @Sendable func retellWebhook(_ request: Request, context: AppContext) async throws -> Response {
        let bytes = try await retellGate.body(of: request)
        guard let json = try? JSONValue.decode(bytes), case .object = json else { throw APIError.badJSON() }
        guard let event = RetellEvent.parse(json, rawBody: bytes) else {
            throw APIError.validation(field: "event", "is not a Retell call event")
        }
        return try await record(event.id, provider: "retell", type: event.kind.rawValue, json, context)
    }

    private func record(_ id: String, provider: String, type: String, _ json: JSONValue, _ context: AppContext) async throws -> Response {
        let fresh = try await inbox.record(id: id, type: provider + ":" + type, payload: json)
        metrics.increment("webhook_events_total", labels: ["provider": provider, "type": type, "duplicate": fresh ? "false" : "true"])
        return .envelope(["received": true, "duplicate": .bool(!fresh), "event_id": .string(id)], context: context)
    }
}
