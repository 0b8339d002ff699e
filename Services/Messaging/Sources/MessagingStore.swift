import CloudGreetCore
import Foundation
import Persistence

enum MessagingSchema {
    static let migrations = [
        Migration(1, "emails", [
            """
            CREATE TABLE emails (
                id TEXT PRIMARY KEY, business_id TEXT, lead_id TEXT, to_address TEXT NOT NULL,
                subject TEXT NOT NULL, content TEXT NOT NULL, status TEXT NOT NULL, provider_message_id TEXT,
                error TEXT, sandbox BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
            """,
            "CREATE INDEX emails_business_created ON emails (business_id, created_at)",
            "CREATE INDEX emails_business_status ON emails (business_id, status, created_at)",
            "CREATE INDEX emails_business_lead ON emails (business_id, lead_id, created_at)",
        ]),
    ]
}

struct EmailStore: Sendable {
    let db: any Database

    func insert(_ email: EmailRecord) async throws {
        try await db.query(
            """
            INSERT INTO emails (id, business_id, lead_id, to_address, subject, content, status, provider_message_id,
                                error, sandbox, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            """,
            [.text(email.id), SQLValue(email.businessID), SQLValue(email.leadID), .text(email.to), .text(email.subject),
             .text(email.content), .text(email.status.rawValue), SQLValue(email.providerMessageID), SQLValue(email.error),
             SQLValue(email.sandbox), SQLValue(email.createdAt), SQLValue(email.updatedAt)])
    }

    func updateStatus(_ email: inout EmailRecord) async throws {
        email.updatedAt = Date()
        try await db.query(
            "UPDATE emails SET status = $1, provider_message_id = $2, error = $3, updated_at = $4 WHERE id = $5",
            [.text(email.status.rawValue), SQLValue(email.providerMessageID), SQLValue(email.error),
             SQLValue(email.updatedAt), .text(email.id)])
    }
}
