import CloudGreetCore
import Foundation
import Persistence
import ServiceClients
import ServiceKit

enum MessagingSchema {
    static let migrations = [
        Migration(
            1, "emails",
            [
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
        Migration(
            2, "sms and opt-outs",
            [
                "ALTER TABLE emails ADD COLUMN idempotency_key TEXT",
                "CREATE UNIQUE INDEX emails_idempotency ON emails (idempotency_key)",
                """
                CREATE TABLE sms (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL, lead_id TEXT, phone TEXT NOT NULL, message TEXT NOT NULL,
                    direction TEXT NOT NULL, status TEXT NOT NULL, provider_message_id TEXT, error TEXT,
                    sandbox BIGINT NOT NULL DEFAULT 0, idempotency_key TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                "CREATE UNIQUE INDEX sms_idempotency ON sms (idempotency_key)",
                "CREATE INDEX sms_business_created ON sms (business_id, created_at, id)",
                "CREATE INDEX sms_business_status ON sms (business_id, status, created_at, id)",
                "CREATE INDEX sms_business_lead ON sms (business_id, lead_id, created_at, id)",
                "CREATE INDEX sms_business_direction ON sms (business_id, direction, created_at, id)",
                "CREATE INDEX sms_provider_message ON sms (provider_message_id)",
                """
                CREATE TABLE opt_outs (
                    business_id TEXT NOT NULL, phone TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (business_id, phone))
                """,
            ]),
        Migration(
            3, "webhook events", WebhookInbox<TelnyxEvent>.schema),
        Migration(
            4, "erasure look-ups",
            [
                "CREATE INDEX sms_business_phone ON sms (business_id, phone)",
                "CREATE INDEX emails_business_to ON emails (business_id, to_address)",
            ]),
        Migration(5, "outbound webhooks", WebhookStore.schema + EventOutbox.schema),
    ]
}

/// Filters of `GET /sms` and `GET /emails`.
struct MessageFilter {
    var leadID: String?
    var status: String?
    var direction: String?
}

struct SMSStore: Sendable {
    let db: any Database
    /// `sms.received` and `sms.status` for the businesses' webhooks, recorded with the change.
    let events: EventOutbox

    func insert(_ sms: SMSRecord) async throws {
        try await db.query(
            """
            INSERT INTO sms (id, business_id, lead_id, phone, message, direction, status, provider_message_id, error,
                             sandbox, idempotency_key, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            """,
            [
                .text(sms.id), .text(sms.businessID), SQLValue(sms.leadID), .text(sms.phone), .text(sms.message),
                .text(sms.direction), .text(sms.status.rawValue), SQLValue(sms.providerMessageID), SQLValue(sms.error),
                SQLValue(sms.sandbox), SQLValue(sms.idempotencyKey), SQLValue(sms.createdAt), SQLValue(sms.updatedAt),
            ])
    }

    func update(_ sms: inout SMSRecord) async throws {
        sms.updatedAt = Date()
        try await db.query(
            "UPDATE sms SET status = $1, provider_message_id = $2, error = $3, updated_at = $4 WHERE id = $5",
            [
                .text(sms.status.rawValue), SQLValue(sms.providerMessageID), SQLValue(sms.error), SQLValue(sms.updatedAt),
                .text(sms.id),
            ])
    }

    func sms(idempotencyKey: String) async throws -> SMSRecord? {
        try await db.first("SELECT * FROM sms WHERE idempotency_key = $1", [.text(idempotencyKey)]).map(SMSRecord.init(row:))
    }

    func list(businessID: String, filter: MessageFilter, page: Page) async throws -> Paged<SMSRecord> {
        var sql = SQLFilter("business_id = ?", .text(businessID))
        sql.add("lead_id = ?", filter.leadID.map { .text($0) })
        sql.add("status = ?", filter.status.map { .text($0) })
        sql.add("direction = ?", filter.direction.map { .text($0) })
        return try await db.page("sms", where: sql, orderBy: "created_at DESC, id DESC", page).map(SMSRecord.init(row:))
    }

    /// Texts of the business created in `period`, counted by direction.
    func countsByDirection(businessID: String, period: Range<Date>?) async throws -> [String: Int] {
        var sql = SQLFilter("business_id = ?", .text(businessID))
        sql.add("created_at", in: period)
        var counts: [String: Int] = [:]
        for row in try await db.query("SELECT direction, COUNT(*) AS n FROM sms WHERE \(sql.sql) GROUP BY direction", sql.binds) {
            counts[try row.required("direction")] = row.int("n") ?? 0
        }
        return counts
    }

    /// Stores an inbound text once, however often its event is worked, with its `sms.received`, and
    /// the opt-out it asks for (`optingOut`: true for STOP, false for START).
    func insertInbound(
        businessID: String, leadID: String?, phone: String, text: String, providerMessageID: String?,
        key: String, optingOut: Bool? = nil, now: Date = Date()
    ) async throws {
        try await db.transaction { [events] db in
            let inserted = try await db.first(
                """
                INSERT INTO sms (id, business_id, lead_id, phone, message, direction, status, provider_message_id, sandbox,
                                 idempotency_key, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, 'inbound', 'received', $6, 0, $7, $8, $8)
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING *
                """,
                [
                    .text(ResourceID.make(.sms)), .text(businessID), SQLValue(leadID), .text(phone), .text(text),
                    SQLValue(providerMessageID), .text(key), SQLValue(now),
                ])
            guard let sms = try inserted.map(SMSRecord.init(row:)) else { return }
            try await events.record("sms.received", businessID: businessID, resourceID: sms.id, data: sms.json, on: db)
            // STOP or START takes effect with the text that says it, once: no send comes in between,
            // and the same text worked again cannot undo a later one.
            switch optingOut {
            case true?:
                try await db.query(
                    "INSERT INTO opt_outs (business_id, phone, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    [.text(businessID), .text(phone), SQLValue(now)])
            case false?:
                try await db.query("DELETE FROM opt_outs WHERE business_id = $1 AND phone = $2", [.text(businessID), .text(phone)])
            case nil: break
            }
        }
    }

    /// Moves an outbound message to a delivery status (`delivered` is final), with its `sms.status`
    /// when the status changed; false when no message has that Telnyx id.
    func updateStatus(providerMessageID: String, to status: SMSRecord.Status) async throws -> Bool {
        try await db.transaction { [events] db in
            guard
                let current = try await db.first(
                    "SELECT status FROM sms WHERE provider_message_id = $1 AND direction = 'outbound'", [.text(providerMessageID)])
            else { return false }
            guard current.string("status") != status.rawValue, current.string("status") != SMSRecord.Status.delivered.rawValue else {
                return true
            }
            let rows = try await db.query(
                "UPDATE sms SET status = $1, updated_at = $2 WHERE provider_message_id = $3 AND direction = 'outbound' RETURNING *",
                [.text(status.rawValue), SQLValue(Date()), .text(providerMessageID)])
            for sms in try rows.map(SMSRecord.init(row:)) {
                try await events.record("sms.status", businessID: sms.businessID, resourceID: sms.id, data: sms.json, on: db)
            }
            return true
        }
    }

    /// Erases a person from the business's texts (those linked to the lead, and those to or from
    /// its phone): the number and the text go; direction, status and time stay for the figures.
    /// Opt-outs stay: erasing one would let the business text a number that said STOP.
    func erase(_ erasure: Erasure, now: Date = Date(), on db: any SQLExecutor) async throws {
        try await db.query(
            "UPDATE sms SET phone = '', message = '', updated_at = $1 WHERE business_id = $2 AND (lead_id = $3 OR phone = $4)",
            [SQLValue(now), .text(erasure.businessID), .text(erasure.leadID), SQLValue(erasure.phone)])
    }

    func isOptedOut(businessID: String, phone: String) async throws -> Bool {
        try await db.count(
            "SELECT COUNT(*) AS n FROM opt_outs WHERE business_id = $1 AND phone = $2",
            [.text(businessID), .text(phone)]) > 0
    }
}

struct EmailStore: Sendable {
    let db: any Database

    func insert(_ email: EmailRecord) async throws {
        try await db.query(
            """
            INSERT INTO emails (id, business_id, lead_id, to_address, subject, content, status, provider_message_id,
                                error, sandbox, created_at, updated_at, idempotency_key)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            """,
            [
                .text(email.id), SQLValue(email.businessID), SQLValue(email.leadID), .text(email.to), .text(email.subject),
                .text(email.content), .text(email.status.rawValue), SQLValue(email.providerMessageID), SQLValue(email.error),
                SQLValue(email.sandbox), SQLValue(email.createdAt), SQLValue(email.updatedAt), SQLValue(email.idempotencyKey),
            ])
    }

    func list(businessID: String, filter: MessageFilter, page: Page) async throws -> Paged<EmailRecord> {
        var sql = SQLFilter("business_id = ?", .text(businessID))
        sql.add("lead_id = ?", filter.leadID.map { .text($0) })
        sql.add("status = ?", filter.status.map { .text($0) })
        return try await db.page("emails", where: sql, orderBy: "created_at DESC, id DESC", page).map(EmailRecord.init(row:))
    }

    func count(businessID: String, period: Range<Date>?) async throws -> Int {
        var sql = SQLFilter("business_id = ?", .text(businessID))
        sql.add("created_at", in: period)
        return try await db.count("SELECT COUNT(*) AS n FROM emails WHERE \(sql.sql)", sql.binds)
    }

    func email(idempotencyKey: String) async throws -> EmailRecord? {
        try await db.first("SELECT * FROM emails WHERE idempotency_key = $1", [.text(idempotencyKey)]).map(EmailRecord.init(row:))
    }

    /// Erases a person from the business's emails (linked to the lead, or sent to its address).
    func erase(_ erasure: Erasure, now: Date = Date(), on db: any SQLExecutor) async throws {
        try await db.query(
            """
            UPDATE emails SET to_address = '', subject = '', content = '', updated_at = $1
            WHERE business_id = $2 AND (lead_id = $3 OR to_address = $4)
            """, [SQLValue(now), .text(erasure.businessID), .text(erasure.leadID), SQLValue(erasure.email)])
    }

    func updateStatus(_ email: inout EmailRecord) async throws {
        email.updatedAt = Date()
        try await db.query(
            "UPDATE emails SET status = $1, provider_message_id = $2, error = $3, updated_at = $4 WHERE id = $5",
            [
                .text(email.status.rawValue), SQLValue(email.providerMessageID), SQLValue(email.error),
                SQLValue(email.updatedAt), .text(email.id),
            ])
    }
}
