import CloudGreetCore
import Foundation
import Persistence

/// crm's SQL for appointments. Every query names the business.
struct AppointmentStore: Sendable {
    let db: any Database

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

    func appointment(reference: String, businessID: String, on db: any SQLExecutor) async throws -> Appointment? {
        try await db.first(
            "SELECT * FROM appointments WHERE reference = $1 AND business_id = $2", [.text(reference), .text(businessID)]
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

    func insert(_ appointment: Appointment, on db: any SQLExecutor) async throws {
        try await db.query(
            """
            INSERT INTO appointments (id, business_id, lead_id, scheduled_at, ends_at, duration, status, type, notes,
                                      value_cents, created_at, updated_at, reference)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)
            """,
            [
                .text(appointment.id), .text(appointment.businessID), .text(appointment.leadID), SQLValue(appointment.scheduledAt),
                SQLValue(appointment.endsAt), SQLValue(appointment.duration), .text(appointment.status.rawValue), SQLValue(appointment.type),
                SQLValue(appointment.notes), SQLValue(appointment.valueCents), SQLValue(appointment.createdAt),
                SQLValue(appointment.reference),
            ])
    }

    func update(_ appointment: Appointment, on db: any SQLExecutor) async throws {
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

    /// Clears the notes (free text, perhaps personal) of the lead's appointments; returns their ids.
    func forget(leadID: String, businessID: String, on db: any SQLExecutor) async throws -> [String] {
        try await db.query(
            "UPDATE appointments SET notes = NULL, updated_at = $1 WHERE lead_id = $2 AND business_id = $3 RETURNING id",
            [SQLValue(Date()), .text(leadID), .text(businessID)]
        ).map { try $0.required("id") }
    }
}

extension AppointmentStore {
    /// Appointments of the business scheduled in `period` (all when nil), counted by status with the
    /// sum of their values.
    func stats(businessID: String, period: Range<Date>?) async throws -> [SQLRow] {
        var sql = SQLFilter("business_id = ?", .text(businessID))
        sql.add("scheduled_at", in: period)
        return try await db.query(
            """
            SELECT status, COUNT(*) AS count, CAST(COALESCE(SUM(value_cents), 0) AS BIGINT) AS value_cents
            FROM appointments WHERE \(sql.sql) GROUP BY 1
            """, sql.binds)
    }

    /// How many appointments of the business are scheduled in `range`, whatever their status.
    func count(businessID: String, scheduledIn range: Range<Date>) async throws -> Int {
        try await db.count(
            "SELECT COUNT(*) AS n FROM appointments WHERE business_id = $1 AND scheduled_at >= $2 AND scheduled_at < $3",
            [.text(businessID), SQLValue(range.lowerBound), SQLValue(range.upperBound)])
    }

    /// The value, in cents, of the business's completed appointments scheduled in `range`.
    func revenueCents(businessID: String, scheduledIn range: Range<Date>) async throws -> Int {
        try await db.first(
            """
            SELECT CAST(COALESCE(SUM(value_cents), 0) AS BIGINT) AS cents FROM appointments
            WHERE business_id = $1 AND status = 'completed' AND scheduled_at >= $2 AND scheduled_at < $3
            """, [.text(businessID), SQLValue(range.lowerBound), SQLValue(range.upperBound)])?.int("cents") ?? 0
    }
}
