import CloudGreetCore
import Foundation
import Persistence

enum CRMSchema {
    static let migrations = [
        Migration(
            1, "leads",
            [
                """
                CREATE TABLE leads (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL, name TEXT, phone TEXT, email TEXT,
                    source TEXT NOT NULL, status TEXT NOT NULL, notes TEXT, qualification_score BIGINT,
                    qualification TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                "CREATE UNIQUE INDEX leads_business_phone ON leads (business_id, phone)",
                "CREATE UNIQUE INDEX leads_business_email ON leads (business_id, email)",
                "CREATE INDEX leads_business_created ON leads (business_id, created_at, id)",
                "CREATE INDEX leads_business_status ON leads (business_id, status, created_at, id)",
                "CREATE INDEX leads_business_source ON leads (business_id, source, created_at, id)",
            ]),
        Migration(
            2, "appointments",
            [
                """
                CREATE TABLE appointments (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL, lead_id TEXT NOT NULL, scheduled_at BIGINT NOT NULL,
                    ends_at BIGINT NOT NULL, duration BIGINT NOT NULL, status TEXT NOT NULL, type TEXT, notes TEXT,
                    value_cents BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                "CREATE INDEX appointments_business_scheduled ON appointments (business_id, scheduled_at, id)",
                "CREATE INDEX appointments_business_status ON appointments (business_id, status, scheduled_at, id)",
                "CREATE INDEX appointments_business_lead ON appointments (business_id, lead_id)",
            ]),
        Migration(
            3, "reminders",
            [
                """
                CREATE TABLE reminders (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL, appointment_id TEXT NOT NULL, kind TEXT NOT NULL,
                    hours_before BIGINT, due_at BIGINT NOT NULL, status TEXT NOT NULL, method TEXT, message_id TEXT,
                    error TEXT, attempts BIGINT NOT NULL DEFAULT 0, claimed_until BIGINT, sent_at BIGINT,
                    created_at BIGINT NOT NULL)
                """,
                "CREATE UNIQUE INDEX reminders_automatic ON reminders (appointment_id, kind, hours_before)",
                "CREATE INDEX reminders_due ON reminders (status, due_at)",
                "CREATE INDEX reminders_appointment ON reminders (business_id, appointment_id)",
            ]),
    ]
}

struct Lead: Sendable, JSONRepresentable {
    var id: String
    var businessID: String
    var name: String?
    var phone: String?
    var email: String?
    var source: LeadSource
    var status: LeadStatus
    var notes: String?
    var qualificationScore: Int?
    var qualification: JSONValue?
    var createdAt: Date
    var updatedAt: Date

    var json: JSONValue {
        [
            "id": .string(id), "business_id": .string(businessID), "name": JSONValue(name), "phone": JSONValue(phone),
            "email": JSONValue(email), "source": .string(source.rawValue), "status": .string(status.rawValue), "notes": JSONValue(notes),
            "qualification_score": JSONValue(qualificationScore), "created_at": JSONValue(createdAt),
            "updated_at": JSONValue(updatedAt),
        ]
    }
}

extension Lead {
    init(row: SQLRow) throws {
        self.init(
            id: try row.required("id"), businessID: try row.required("business_id"), name: row.string("name"),
            phone: row.string("phone"), email: row.string("email"), source: try row.required("source", as: LeadSource.self),
            status: try row.required("status", as: LeadStatus.self), notes: row.string("notes"), qualificationScore: row.int("qualification_score"),
            qualification: row.json("qualification"), createdAt: try row.requiredDate("created_at"),
            updatedAt: try row.requiredDate("updated_at"))
    }
}

struct Appointment: Sendable, JSONRepresentable {
    var id: String
    var businessID: String
    var leadID: String
    var scheduledAt: Date
    var duration: Int
    var status: AppointmentStatus
    var type: String?
    var notes: String?
    var valueCents: Int?
    var createdAt: Date
    var updatedAt: Date

    var endsAt: Date { scheduledAt.addingTimeInterval(TimeInterval(duration * 60)) }
    var holdsSlot: Bool { status.holdsSlot }

    var json: JSONValue {
        [
            "id": .string(id), "business_id": .string(businessID), "lead_id": .string(leadID),
            "scheduled_date": JSONValue(scheduledAt), "duration": JSONValue(duration), "status": .string(status.rawValue),
            "type": JSONValue(type), "notes": JSONValue(notes), "value": valueCents.map { .number(Double($0) / 100) } ?? .null,
            "created_at": JSONValue(createdAt), "updated_at": JSONValue(updatedAt),
        ]
    }
}

extension Appointment {
    init(row: SQLRow) throws {
        self.init(
            id: try row.required("id"), businessID: try row.required("business_id"), leadID: try row.required("lead_id"),
            scheduledAt: try row.requiredDate("scheduled_at"), duration: row.int("duration") ?? 30,
            status: try row.required("status", as: AppointmentStatus.self), type: row.string("type"), notes: row.string("notes"),
            valueCents: row.int("value_cents"), createdAt: try row.requiredDate("created_at"),
            updatedAt: try row.requiredDate("updated_at"))
    }
}

/// crm's SQL. Every query made for a request names the business; the reminder worker's queries
/// go by the reminder's id, which it took from its own claim.
struct CRMStore: Sendable {
    let db: any Database

    // MARK: leads

    struct LeadFilter {
        var status: LeadStatus?
        var source: LeadSource?
        var search: String?
    }

    func insertLead(_ lead: Lead, on db: any SQLExecutor) async throws {
        try await db.query(
            """
            INSERT INTO leads (id, business_id, name, phone, email, source, status, notes, qualification_score,
                               qualification, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
            """,
            [
                .text(lead.id), .text(lead.businessID), SQLValue(lead.name), SQLValue(lead.phone), SQLValue(lead.email),
                .text(lead.source.rawValue), .text(lead.status.rawValue), SQLValue(lead.notes), SQLValue(lead.qualificationScore),
                lead.qualification.map { SQLValue($0) } ?? .null, SQLValue(lead.createdAt),
            ])
    }

    func updateLead(_ lead: Lead) async throws {
        try await db.query(
            """
            UPDATE leads SET name = $1, phone = $2, email = $3, source = $4, status = $5, notes = $6,
                qualification_score = $7, qualification = $8, updated_at = $9
            WHERE id = $10 AND business_id = $11
            """,
            [
                SQLValue(lead.name), SQLValue(lead.phone), SQLValue(lead.email), .text(lead.source.rawValue), .text(lead.status.rawValue),
                SQLValue(lead.notes), SQLValue(lead.qualificationScore), lead.qualification.map { SQLValue($0) } ?? .null,
                SQLValue(lead.updatedAt), .text(lead.id), .text(lead.businessID),
            ])
    }

    func lead(id: String, businessID: String, on db: (any SQLExecutor)? = nil) async throws -> Lead? {
        try await (db ?? self.db).first("SELECT * FROM leads WHERE id = $1 AND business_id = $2", [.text(id), .text(businessID)])
            .map(Lead.init(row:))
    }

    /// The lead of the business with this phone or email, if any.
    func lead(businessID: String, phone: String?, email: String?, on db: (any SQLExecutor)? = nil) async throws -> Lead? {
        guard phone != nil || email != nil else { return nil }
        return try await (db ?? self.db).first(
            "SELECT * FROM leads WHERE business_id = $1 AND (phone = $2 OR email = $3) ORDER BY created_at LIMIT 1",
            [.text(businessID), SQLValue(phone), SQLValue(email)]
        ).map(Lead.init(row:))
    }

    func leads(businessID: String, filter: LeadFilter, page: Page) async throws -> Paged<Lead> {
        var sql = SQLFilter("business_id = ?", .text(businessID))
        sql.add("status = ?", filter.status.map { .text($0.rawValue) })
        sql.add("source = ?", filter.source.map { .text($0.rawValue) })
        sql.add(
            "(LOWER(name) LIKE ? ESCAPE '\\' OR email LIKE ? ESCAPE '\\' OR phone LIKE ? ESCAPE '\\')",
            filter.search.map { .text("%\($0.lowercased().likeEscaped)%") })
        return try await db.page("leads", where: sql, orderBy: "created_at DESC, id DESC", page).map(Lead.init(row:))
    }

    /// Erases the lead and its personal data: its appointments' notes and pending reminders go too.
    func deleteLead(id: String, businessID: String) async throws -> Bool {
        try await db.transaction { db in
            let deleted = try await db.query(
                "DELETE FROM leads WHERE id = $1 AND business_id = $2 RETURNING id",
                [.text(id), .text(businessID)])
            guard !deleted.isEmpty else { return false }
            let appointments = try await db.query(
                "UPDATE appointments SET status = CASE WHEN status IN ('scheduled', 'confirmed') THEN 'cancelled' ELSE status END, "
                    + "notes = NULL, updated_at = $1 WHERE lead_id = $2 AND business_id = $3 RETURNING id",
                [SQLValue(Date()), .text(id), .text(businessID)])
            for row in appointments {
                try await cancelPendingReminders(appointmentID: try row.required("id"), on: db)
            }
            return true
        }
    }

    // MARK: appointments

    struct AppointmentFilter {
        var status: AppointmentStatus?
        var start: Date?
        var end: Date?
    }

    func appointment(id: String, businessID: String, on db: (any SQLExecutor)? = nil) async throws -> Appointment? {
        try await (db ?? self.db).first(
            "SELECT * FROM appointments WHERE id = $1 AND business_id = $2",
            [.text(id), .text(businessID)]
        ).map(Appointment.init(row:))
    }

    func appointments(businessID: String, filter: AppointmentFilter, page: Page) async throws -> Paged<Appointment> {
        var sql = SQLFilter("business_id = ?", .text(businessID))
        sql.add("status = ?", filter.status.map { .text($0.rawValue) })
        sql.add("scheduled_at >= ?", filter.start.map { SQLValue($0) })
        sql.add("scheduled_at < ?", filter.end.map { SQLValue($0) })
        return try await db.page("appointments", where: sql, orderBy: "scheduled_at, id", page).map(Appointment.init(row:))
    }

    /// Serialises bookings of one business until the transaction ends. SQLite's single writer
    /// already does; PostgreSQL takes a transaction-scoped advisory lock on the business.
    func lockBookings(businessID: String, on db: any SQLExecutor) async throws {
        if db.engine == .postgres {
            try await db.query("SELECT pg_advisory_xact_lock(hashtext($1))", [.text("bookings:" + businessID)])
        }
    }

    /// The id of an active appointment of the business that overlaps `[start, end)`, other than `excluding`.
    func conflicting(businessID: String, start: Date, end: Date, excluding: String?, on db: any SQLExecutor) async throws -> String? {
        try await db.first(
            """
            SELECT id FROM appointments
            WHERE business_id = $1 AND status IN ('scheduled', 'confirmed') AND scheduled_at < $2 AND ends_at > $3
              AND id <> $4
            LIMIT 1
            """, [.text(businessID), SQLValue(end), SQLValue(start), .text(excluding ?? "")])?.string("id")
    }

    func insertAppointment(_ appointment: Appointment, on db: any SQLExecutor) async throws {
        try await db.query(
            """
            INSERT INTO appointments (id, business_id, lead_id, scheduled_at, ends_at, duration, status, type, notes,
                                      value_cents, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
            """,
            [
                .text(appointment.id), .text(appointment.businessID), .text(appointment.leadID), SQLValue(appointment.scheduledAt),
                SQLValue(appointment.endsAt), SQLValue(appointment.duration), .text(appointment.status.rawValue), SQLValue(appointment.type),
                SQLValue(appointment.notes), SQLValue(appointment.valueCents), SQLValue(appointment.createdAt),
            ])
    }

    func updateAppointment(_ appointment: Appointment, on db: any SQLExecutor) async throws {
        try await db.query(
            """
            UPDATE appointments SET scheduled_at = $1, ends_at = $2, duration = $3, status = $4, type = $5, notes = $6,
                value_cents = $7, updated_at = $8
            WHERE id = $9 AND business_id = $10
            """,
            [
                SQLValue(appointment.scheduledAt), SQLValue(appointment.endsAt), SQLValue(appointment.duration),
                .text(appointment.status.rawValue), SQLValue(appointment.type), SQLValue(appointment.notes),
                SQLValue(appointment.valueCents), SQLValue(appointment.updatedAt), .text(appointment.id),
                .text(appointment.businessID),
            ])
    }

    // MARK: reminders

    /// Replaces the pending automatic reminders of an appointment: one per `hours_before` still in
    /// the future, none when the appointment no longer holds its slot. A reminder already sent is
    /// sent again only if the appointment moved (its due time changed), never twice for one time.
    func scheduleReminders(
        for appointment: Appointment, hoursBefore: [Int], now: Date = Date(),
        on db: any SQLExecutor
    ) async throws {
        try await cancelPendingReminders(appointmentID: appointment.id, on: db)
        guard appointment.holdsSlot else { return }
        for hours in Set(hoursBefore) {
            let due = appointment.scheduledAt.addingTimeInterval(TimeInterval(-hours * 3600))
            guard due > now else { continue }
            try await db.query(
                """
                INSERT INTO reminders (id, business_id, appointment_id, kind, hours_before, due_at, status, created_at)
                VALUES ($1, $2, $3, 'automatic', $4, $5, 'pending', $6)
                ON CONFLICT (appointment_id, kind, hours_before)
                DO UPDATE SET due_at = EXCLUDED.due_at, status = 'pending', error = NULL
                WHERE reminders.status IN ('pending', 'cancelled') OR reminders.due_at <> EXCLUDED.due_at
                """,
                [
                    .text(ResourceID.make(.reminder)), .text(appointment.businessID), .text(appointment.id),
                    SQLValue(hours), SQLValue(due), SQLValue(now),
                ])
        }
    }

    func cancelPendingReminders(appointmentID: String, on db: any SQLExecutor) async throws {
        try await db.query(
            "UPDATE reminders SET status = 'cancelled' WHERE appointment_id = $1 AND status = 'pending'",
            [.text(appointmentID)])
    }

    /// Records a reminder sent by hand (`POST /appointments/{id}/remind`).
    func recordManualReminder(
        appointment: Appointment, method: String, status: String, messageID: String?,
        error: String?, at date: Date
    ) async throws {
        try await db.query(
            """
            INSERT INTO reminders (id, business_id, appointment_id, kind, due_at, status, method, message_id, error,
                                   attempts, sent_at, created_at)
            VALUES ($1, $2, $3, 'manual', $4, $5, $6, $7, $8, 1, $9, $4)
            """,
            [
                .text(ResourceID.make(.reminder)), .text(appointment.businessID), .text(appointment.id), SQLValue(date),
                .text(status), .text(method), SQLValue(messageID), SQLValue(error),
                status == "sent" ? SQLValue(date) : .null,
            ])
    }

    /// A due automatic reminder, as claimed from `reminderQueue`.
    struct DueReminder: Sendable {
        let claim: LeasedQueue.Claim
        let id: String
        let businessID: String
        let appointmentID: String
        let hoursBefore: Int
        let dueAt: Date

        init(_ claim: LeasedQueue.Claim) throws {
            self.claim = claim
            id = claim.id
            businessID = try claim.row.required("business_id")
            appointmentID = try claim.row.required("appointment_id")
            hoursBefore = claim.row.int("hours_before") ?? 0
            dueAt = try claim.row.requiredDate("due_at")
        }
    }

    /// Automatic reminders are worked as a leased queue: `pending` until due, `sending` while claimed
    /// or waiting to be tried again (messaging or identity down), `failed` after the last try (about
    /// two hours of backoff), else `sent` or `cancelled`.
    var reminderQueue: LeasedQueue {
        LeasedQueue(
            db: db,
            layout: .init(
                table: "reminders", dueColumn: "due_at", ready: "pending", leased: "sending", dead: "failed",
                condition: "kind = 'automatic'"),
            lease: 60, retry: RetryPolicy(attempts: 10, baseDelay: .seconds(30), maxDelay: .seconds(900)))
    }

    /// Claims up to `limit` due reminders for this worker (see `LeasedQueue.claim`).
    func claimDueReminders(now: Date = Date(), limit: Int = 20) async throws -> [DueReminder] {
        try await reminderQueue.claim(now: now, limit: limit).map(DueReminder.init)
    }

    func finishReminder(
        _ reminder: DueReminder, status: String, method: String?, messageID: String?, error: String?,
        now: Date = Date()
    ) async throws {
        var columns: [(String, SQLValue)] = [("method", SQLValue(method)), ("message_id", SQLValue(messageID)), ("error", SQLValue(error))]
        if status == "sent" { columns.append(("sent_at", SQLValue(now))) }
        try await reminderQueue.finish(reminder.id, status: status, setting: columns)
    }

    func reminders(appointmentID: String, businessID: String) async throws -> [SQLRow] {
        try await db.query(
            "SELECT * FROM reminders WHERE appointment_id = $1 AND business_id = $2 ORDER BY created_at",
            [.text(appointmentID), .text(businessID)])
    }
}
