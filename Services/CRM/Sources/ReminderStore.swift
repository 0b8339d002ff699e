import CloudGreetCore
import Foundation
import Persistence

/// crm's SQL for reminders. Queries made for a request name the business; the reminder worker's
/// go by the reminder's id, which it took from its own claim.
struct ReminderStore: Sendable {
    let db: any Database

    /// Replaces the pending automatic reminders of an appointment: one per `hours_before` still in
    /// the future, none when the appointment no longer holds its slot. A reminder already sent is
    /// sent again only if the appointment moved (its due time changed), never twice for one time.
    func schedule(
        for appointment: Appointment, hoursBefore: [Int], now: Date = Date(),
        on db: any SQLExecutor
    ) async throws {
        try await cancelPending(appointmentID: appointment.id, on: db)
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

    func cancelPending(appointmentID: String, on db: any SQLExecutor) async throws {
        try await db.query(
            "UPDATE reminders SET status = 'cancelled' WHERE appointment_id = $1 AND status = 'pending'",
            [.text(appointmentID)])
    }

    /// Records a reminder sent by hand (`POST /appointments/{id}/remind`).
    func recordManual(
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
    func claimDue(now: Date = Date(), limit: Int = 20) async throws -> [DueReminder] {
        try await reminderQueue.claim(now: now, limit: limit).map(DueReminder.init)
    }

    func finish(
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
