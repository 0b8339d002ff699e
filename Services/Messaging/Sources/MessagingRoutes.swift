import CloudGreetCore
import Hummingbird
import ServiceKit

/// Messaging's routes. For now only the internal email sender that identity (password resets) and
/// crm (reminders) call; the public SMS and email API is a later issue.
struct MessagingRoutes {
    let outbox: EmailOutbox
    let config: ServiceConfig

    func register(on router: Router<AppContext>) {
        router.post("/internal/emails") { request, context in
            _ = try context.requireService()
            let body = try await request.jsonBody(context: context, maxBytes: config.maxBodyBytes)
            let fields = try FieldReader(body)
            let to = fields.email("to", required: true)
            let subject = fields.string("subject", required: true, maxLength: 998)
            let content = fields.string("content", required: true, maxLength: 100_000)
            let businessID = fields.string("business_id", maxLength: 64)
            let leadID = fields.string("lead_id", maxLength: 64)
            let sensitive = fields.bool("sensitive") ?? false
            try fields.finish()
            let email = try await outbox.send(
                OutgoingEmail(businessID: businessID, leadID: leadID, to: to!, subject: subject!, content: content!,
                              sensitive: sensitive),
                logger: context.logger)
            if email.status == .failed {
                throw APIError(502, .externalServiceError, "Email could not be sent", details: ["id": .string(email.id)])
            }
            return Response.envelope(email.json, status: .created, context: context)
        }
    }
}
