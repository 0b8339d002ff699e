import CloudGreetCore
import Foundation
import Logging
import Persistence
import Providers
import ServiceClients
import ServiceKit

struct OutgoingSMS: Sendable {
    var businessID: String
    var leadID: String?
    var to: String
    var text: String
    /// A retried request with the same key gets the first message back instead of a second text.
    var idempotencyKey: String? = nil
}

struct SMSRecord: Sendable, Encodable, JSONRepresentable {
    enum Status: String, Sendable, Encodable { case queued, sent, delivered, failed, received }

    var id: String
    var businessID: String
    var leadID: String?
    @ErasedWhenEmpty var phone: String
    @ErasedWhenEmpty var message: String
    var direction: String
    var status: Status
    var providerMessageID: String?
    var error: String?
    var sandbox: Bool
    var idempotencyKey: String?
    var createdAt: Date
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, phone, message, direction, status, error, sandbox
        case businessID = "business_id"
        case leadID = "lead_id"
        case providerMessageID = "provider_message_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

extension SMSRecord {
    init(row: SQLRow) throws {
        self.init(
            id: try row.required("id"), businessID: try row.required("business_id"), leadID: row.string("lead_id"),
            phone: try row.required("phone"), message: try row.required("message"), direction: try row.required("direction"),
            status: Status(rawValue: row.string("status") ?? "") ?? .failed, providerMessageID: row.string("provider_message_id"),
            error: row.string("error"), sandbox: row.bool("sandbox"), idempotencyKey: row.string("idempotency_key"),
            createdAt: try row.requiredDate("created_at"), updatedAt: try row.requiredDate("updated_at"))
    }
}

/// Keeps every text with its status before and after the Telnyx call, so nothing is lost when
/// Telnyx fails; numbers that opted out get nothing. Without a Telnyx key in development, texts
/// go to the sandbox: recorded as sent, marked `sandbox`, logged without their content.
struct SMSOutbox: Sendable {
    let store: SMSStore
    let telnyx: TelnyxClient?
    let businesses: BusinessDirectory
    let sandboxAllowed: Bool
    let outbox: Outbox<SMSRecord>

    init(store: SMSStore, telnyx: TelnyxClient?, businesses: BusinessDirectory, sandboxAllowed: Bool, metrics: ServiceMetrics) {
        self.store = store
        self.telnyx = telnyx
        self.businesses = businesses
        self.sandboxAllowed = sandboxAllowed
        outbox = Outbox(
            provider: "telnyx", metrics: metrics, find: { try await store.sms(idempotencyKey: $0) }, insert: { try await store.insert($0) },
            update: { record in
                var record = record
                try await store.update(&record)
                return record
            })
    }

    func send(_ sms: OutgoingSMS, requestID: String, logger: Logger) async throws -> SMSRecord {
        var from: String?
        return try await outbox.send(idempotencyKey: sms.idempotencyKey) {
            if try await store.isOptedOut(businessID: sms.businessID, phone: sms.to) { throw ServiceCallError.optedOut }
            guard telnyx != nil || sandboxAllowed else { throw APIError.unavailable("SMS sending is not configured") }
            from = try await businesses.business(sms.businessID, requestID: requestID).phoneNumber
            let now = Date()
            return SMSRecord(
                id: ResourceID.make(.sms), businessID: sms.businessID, leadID: sms.leadID, phone: sms.to,
                message: sms.text, direction: "outbound", status: .queued, providerMessageID: nil, error: nil,
                sandbox: telnyx == nil, idempotencyKey: sms.idempotencyKey, createdAt: now, updatedAt: now)
        } deliver: { queued in
            var record = queued
            guard let telnyx else {
                record.status = .sent
                logger.notice(
                    "sandbox SMS recorded, not sent", metadata: ["sms_id": .string(record.id), "to": .string(Contact.maskPhone(sms.to))])
                return .sandbox(record)
            }
            do {
                let sent = try await telnyx.sendMessage(from: from, to: sms.to, text: sms.text)
                record.providerMessageID = sent.id
                record.status = .sent
                return .sent(record)
            } catch {
                record.status = .failed
                let reason = (error as? ProviderError)?.description ?? "Telnyx request failed"
                record.error = reason
                logger.warning("SMS delivery failed", metadata: ["sms_id": .string(record.id), "error": .string(reason)])
                return .failed(record)
            }
        }
    }
}
