import CloudGreetCore
import Hummingbird
import ServiceKit

/// Messaging's routes. For now the internal senders that identity (password resets) and crm
/// (reminders) call; the public SMS and email API is a later issue.
struct MessagingRoutes: Sendable {
    let emails: EmailOutbox
    let texts: SMSOutbox
    let config: ServiceConfig

    func register(on router: Router<AppContext>) {
        router.post("/internal/emails", use: sendEmail)
        router.post("/internal/sms", use: sendSMS)
    }

    @Sendable func sendEmail(_ request: Request, context: AppContext) async throws -> Response {
        _ = try context.requireService()
        let fields = try FieldReader(await request.jsonBody(context: context, maxBytes: config.maxBodyBytes))
        let to = fields.email("to", required: true)
        let subject = fields.string("subject", required: true, maxLength: 998)
        let content = fields.string("content", required: true, maxLength: 100_000)
        let businessID = fields.string("business_id", maxLength: 64)
        let leadID = fields.string("lead_id", maxLength: 64)
        let sensitive = fields.bool("sensitive") ?? false
        let key = fields.string("idempotency_key", maxLength: 200)
        try fields.finish()
        let email = try await emails.send(
            OutgoingEmail(businessID: businessID, leadID: leadID, to: to!, subject: subject!, content: content!,
                          sensitive: sensitive, idempotencyKey: key),
            logger: context.logger)
        if email.status == .failed {
            throw APIError(502, .externalServiceError, "Email could not be sent", details: ["id": .string(email.id)])
        }
        return Response.envelope(email.json, status: .created, context: context)
    }

    @Sendable func sendSMS(_ request: Request, context: AppContext) async throws -> Response {
        _ = try context.requireService()
        let fields = try FieldReader(await request.jsonBody(context: context, maxBytes: config.maxBodyBytes))
        let businessID = fields.string("business_id", required: true, maxLength: 64)
        let to = fields.phone("to", required: true, defaultCountryCode: config.defaultCountryCode)
        let text = fields.string("message", required: true, maxLength: 1600)
        let leadID = fields.string("lead_id", maxLength: 64)
        let key = fields.string("idempotency_key", maxLength: 200)
        try fields.finish()
        let sms = try await texts.send(OutgoingSMS(businessID: businessID!, leadID: leadID, to: to!, text: text!, idempotencyKey: key),
                                       requestID: context.requestID, logger: context.logger)
        if sms.status == .failed {
            throw APIError(502, .externalServiceError, "SMS could not be sent", details: ["id": .string(sms.id)])
        }
        return Response.envelope(sms.json, status: .created, context: context)
    }
}
