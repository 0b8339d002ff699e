import CloudGreetCore
import Foundation
import Logging
import Persistence
import Providers
import ServiceKit

struct OutgoingEmail: Sendable {
    var businessID: String?
    var leadID: String?
    var to: String
    var subject: String
    var content: String
    /// Content holding a secret (a reset link) is sent but never stored.
    var sensitive: Bool
    var idempotencyKey: String? = nil
}

struct EmailRecord: Sendable, Encodable, JSONRepresentable {
    enum Status: String, Sendable, Encodable { case queued, sent, failed }

    var id: String
    var businessID: String?
    var leadID: String?
    @ErasedWhenEmpty var to: String
    @ErasedWhenEmpty var subject: String
    @ErasedWhenEmpty var content: String
    var status: Status
    var providerMessageID: String?
    var error: String?
    var sandbox: Bool
    var idempotencyKey: String?
    var createdAt: Date
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, to, subject, content, status, error, sandbox
        case businessID = "business_id"
        case leadID = "lead_id"
        case providerMessageID = "provider_message_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

extension EmailRecord {
    init(row: SQLRow) throws {
        self.init(
            id: try row.required("id"), businessID: row.string("business_id"), leadID: row.string("lead_id"),
            to: try row.required("to_address"), subject: try row.required("subject"), content: try row.required("content"),
            status: Status(rawValue: row.string("status") ?? "") ?? .failed, providerMessageID: row.string("provider_message_id"),
            error: row.string("error"), sandbox: row.bool("sandbox"), idempotencyKey: row.string("idempotency_key"),
            createdAt: try row.requiredDate("created_at"),
            updatedAt: try row.requiredDate("updated_at"))
    }
}

/// Keeps every email with its status before and after the SMTP transfer, so nothing is lost
/// when the server fails. Without an SMTP server in development, emails go to the sandbox:
/// recorded as sent, marked `sandbox`, and logged without their content.
struct EmailOutbox: Sendable {
    let store: EmailStore
    let mailer: Mailer?
    let sandboxAllowed: Bool
    let outbox: Outbox<EmailRecord>

    init(store: EmailStore, mailer: Mailer?, sandboxAllowed: Bool, metrics: ServiceMetrics) {
        self.store = store
        self.mailer = mailer
        self.sandboxAllowed = sandboxAllowed
        outbox = Outbox(
            provider: "smtp", metrics: metrics, find: { try await store.email(idempotencyKey: $0) }, insert: { try await store.insert($0) },
            update: { record in
                var record = record
                try await store.updateStatus(&record)
                return record
            })
    }

    func send(_ email: OutgoingEmail, logger: Logger) async throws -> EmailRecord {
        try await outbox.send(idempotencyKey: email.idempotencyKey) {
            guard mailer != nil || sandboxAllowed else { throw APIError.unavailable("Email sending is not configured") }
            let now = Date()
            return EmailRecord(
                id: ResourceID.make(.email), businessID: email.businessID, leadID: email.leadID, to: email.to,
                subject: email.subject, content: email.sensitive ? "[redacted]" : email.content, status: .queued,
                providerMessageID: nil, error: nil, sandbox: mailer == nil, idempotencyKey: email.idempotencyKey,
                createdAt: now, updatedAt: now)
        } deliver: { queued in
            var record = queued
            guard let mailer else {
                record.status = .sent
                logger.notice("sandbox email recorded, not sent", metadata: ["email_id": .string(record.id)])
                return .sandbox(record)
            }
            do {
                record.providerMessageID = try await mailer.send(to: email.to, subject: email.subject, text: email.content)
                record.status = .sent
                return .sent(record)
            } catch {
                record.status = .failed
                let reason = (error as? ProviderError)?.description ?? "SMTP delivery failed"
                record.error = reason
                logger.warning("email delivery failed", metadata: ["email_id": .string(record.id), "error": .string(reason)])
                return .failed(record)
            }
        }
    }
}
