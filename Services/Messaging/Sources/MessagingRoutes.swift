import CloudGreetCore
import Foundation
import Hummingbird
import NIOCore
import Providers
import ServiceClients
import ServiceKit

/// Messaging's HTTP surface: `/sms*`, `/emails*`, the Telnyx webhook, and the internal senders
/// identity (password resets) and crm (reminders) call.
struct MessagingRoutes: Sendable {
    let emails: EmailOutbox
    let texts: SMSOutbox
    let inbox: WebhookInbox<TelnyxEvent>
    let webhooks: WebhookStore
    let gate: WebhookGate
    let crm: CRMClient
    let config: ServiceConfig

    static let smsStatuses = ["queued", "sent", "delivered", "failed", "received"]
    static let emailStatuses = ["queued", "sent", "failed"]

    func register(on router: Router<AppContext>) {
        let business = router.group().add(middleware: TenantMiddleware())
        business.get("/sms", use: listSMS)
        business.post("/sms", use: sendPublicSMS)
        business.get("/emails", use: listEmails)
        business.post("/emails", use: sendPublicEmail)
        router.post("/sms/webhook", use: webhook)
        let services = router.group().add(middleware: ServiceOnlyMiddleware())
        services.post("/internal/emails", use: sendEmail)
        services.post("/internal/sms", use: sendSMS)
        services.get("/internal/stats", use: stats)
        services.put("/internal/erasures/{id}", use: erase)
    }

    // MARK: public

    @Sendable func listSMS(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let query = request.query
        let page = try Page(query: query)
        try Self.checkFilters(query, statuses: Self.smsStatuses, directions: ["inbound", "outbound"])
        let listed = try await texts.store.list(
            businessID: businessID, filter: .init(leadID: query["lead_id"], status: query["status"], direction: query["direction"]),
            page: page)
        return .envelope(listed.json("sms"), context: context)
    }

    @Sendable func listEmails(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let query = request.query
        let page = try Page(query: query)
        try Self.checkFilters(query, statuses: Self.emailStatuses, directions: nil)
        let listed = try await emails.store.list(
            businessID: businessID, filter: .init(leadID: query["lead_id"], status: query["status"]), page: page)
        return .envelope(listed.json("emails"), context: context)
    }

    static func checkFilters(_ query: [String: String], statuses: [String], directions: [String]?) throws {
        var errors: [String: [String]] = [:]
        if let status = query["status"], !statuses.contains(status) { errors["status"] = ["must be one of: \(statuses.joined(separator: ", "))"] }
        if let directions, let direction = query["direction"], !directions.contains(direction) {
            errors["direction"] = ["must be inbound or outbound"]
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
    }

    /// The lead named by `lead_id`, asked of crm on the caller's behalf (so crm's tenancy applies).
    private func lead(_ id: String, context: AppContext) async throws -> CRMClient.Lead {
        try await crm.lead(id, try context.scoped().caller, context.requestID)
    }

    @Sendable func sendPublicSMS(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        try context.checkBusinessField(fields, businessID: businessID)
        let leadID = fields.id("lead_id", .lead)
        var phone = fields.phone("phone", defaultCountryCode: config.defaultCountryCode)
        let text = fields.string("message", required: true, maxLength: 1600, multiline: true)
        if leadID == nil && phone == nil && fields.errors["phone"] == nil && fields.errors["lead_id"] == nil {
            fields.fail("phone", "phone or lead_id is required")
        }
        try fields.finish()
        if let leadID {
            let lead = try await lead(leadID, context: context)
            phone = phone ?? lead.phone
            guard phone != nil else { throw APIError.validation(field: "phone", "the lead has no phone number") }
        }
        let sms = try await texts.send(
            OutgoingSMS(
                businessID: businessID, leadID: leadID, to: try fields.present(phone, "phone"),
                text: try fields.present(text, "message")),
            requestID: context.requestID, logger: context.logger)
        if sms.status == .failed {
            throw APIError(502, .externalServiceError, "SMS could not be sent", details: ["id": .string(sms.id)])
        }
        return .envelope(sms.json, status: .created, message: "SMS sent", context: context)
    }

    @Sendable func sendPublicEmail(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        try context.checkBusinessField(fields, businessID: businessID)
        let leadID = fields.id("lead_id", .lead)
        let to = fields.email("to", required: true)
        let subject = fields.string("subject", required: true, maxLength: 998)
        let content = fields.string("content", required: true, maxLength: 100_000, multiline: true)
        try fields.finish()
        if let leadID { _ = try await lead(leadID, context: context) }
        let email = try await emails.send(
            OutgoingEmail(
                businessID: businessID, leadID: leadID, to: try fields.present(to, "to"),
                subject: try fields.present(subject, "subject"), content: try fields.present(content, "content"),
                sensitive: false),
            logger: context.logger)
        if email.status == .failed {
            throw APIError(502, .externalServiceError, "Email could not be sent", details: ["id": .string(email.id)])
        }
        return .envelope(email.json, status: .created, message: "Email sent", context: context)
    }

    /// Verified, stored once, answered at once; the work happens in `TelnyxEvents`, driven by the inbox.
    @Sendable func webhook(_ request: Request, context: AppContext) async throws -> Response {
        let bytes = try await gate.body(of: request)
        guard let json = try? JSONValue.decode(bytes), case .object = json else { throw APIError.badJSON() }
        guard let event = TelnyxEvent.parse(json, rawBody: bytes) else {
            throw APIError.validation(field: "event_type", "is not a Telnyx messaging event")
        }
        let fresh = try await inbox.record(id: event.id, type: event.type, payload: json)
        return .envelope(["received": true, "duplicate": .bool(!fresh), "event_id": .string(event.id)], context: context)
    }

    // MARK: internal

    @Sendable func sendEmail(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let to = fields.email("to", required: true)
        let subject = fields.string("subject", required: true, maxLength: 998)
        let content = fields.string("content", required: true, maxLength: 100_000, multiline: true)
        let businessID = fields.id("business_id", .business)
        let leadID = fields.id("lead_id", .lead)
        let sensitive = fields.bool("sensitive") ?? false
        let key = fields.string("idempotency_key", maxLength: 200)
        try fields.finish()
        let email = try await emails.send(
            OutgoingEmail(
                businessID: businessID, leadID: leadID, to: try fields.present(to, "to"),
                subject: try fields.present(subject, "subject"), content: try fields.present(content, "content"),
                sensitive: sensitive, idempotencyKey: key),
            logger: context.logger)
        if email.status == .failed {
            throw APIError(502, .externalServiceError, "Email could not be sent", details: ["id": .string(email.id)])
        }
        return .envelope(email.json, status: .created, context: context)
    }

    @Sendable func sendSMS(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let businessID = fields.id("business_id", .business, required: true)
        let to = fields.phone("to", required: true, defaultCountryCode: config.defaultCountryCode)
        let text = fields.string("message", required: true, maxLength: 1600, multiline: true)
        let leadID = fields.id("lead_id", .lead)
        let key = fields.string("idempotency_key", maxLength: 200)
        try fields.finish()
        let sms: SMSRecord
        do {
            sms = try await texts.send(
                OutgoingSMS(
                    businessID: try fields.present(businessID, "business_id"), leadID: leadID,
                    to: try fields.present(to, "to"), text: try fields.present(text, "message"), idempotencyKey: key),
                requestID: context.requestID, logger: context.logger)
        } catch ServiceCallError.optedOut {
            // Marked for `MessagingClient`, which turns it back into `.optedOut` for the caller.
            var refusal = ServiceCallError.optedOut.apiError
            refusal.details = refusal.details?.merging(["reason": .string(ServiceCallError.optedOutReason)])
            throw refusal
        }
        if sms.status == .failed {
            throw APIError(502, .externalServiceError, "SMS could not be sent", details: ["id": .string(sms.id)])
        }
        return .envelope(sms.json, status: .created, context: context)
    }

    /// For analytics: texts by direction and emails, created in the period (`MessageStats`).
    /// crm's request to erase a person (`Erasure`): their texts, emails, and the provider and
    /// business webhook events about them, in one transaction. Erasing again changes nothing more.
    @Sendable func erase(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.parameters.require("id", context: context)
        let erasure = try Erasure(id: id, fields: try await request.fields(context: context, maxBytes: config.maxBodyBytes))
        try await texts.store.db.transaction { [texts, emails, inbox, webhooks] db in
            try await texts.store.erase(erasure, on: db)
            try await emails.store.erase(erasure, on: db)
            let mentions = [erasure.leadID] + [erasure.phone, erasure.email].compactMap { $0 }
            try await inbox.erase(mentioning: mentions, on: db)
            try await texts.store.events.erase(businessID: erasure.businessID, mentioning: mentions, on: db)
            try await webhooks.erase(businessID: erasure.businessID, mentioning: mentions, on: db)
        }
        return .envelope(["id": .string(id), "erased": true], context: context)
    }

    @Sendable func stats(_ request: Request, context: AppContext) async throws -> Response {
        let query = try StatsQuery(query: request.query)
        let texts = try await texts.store.countsByDirection(businessID: query.businessID, period: query.period)
        let stats = MessageStats(
            smsInbound: texts["inbound"] ?? 0, smsOutbound: texts["outbound"] ?? 0,
            emails: try await emails.store.count(businessID: query.businessID, period: query.period))
        return .envelope(try JSONValueEncoder.encode(stats), context: context)
    }
}
