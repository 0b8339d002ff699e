import CloudGreetCore
import Foundation
import Persistence
import ServiceClients
import ServiceKit

/// crm's application layer for appointments: booking, rescheduling, cancelling and reminding. Each
/// applies the domain rules (opening hours, no overlap, the reminder schedule) around the store in
/// one transaction, so a route handler only decodes, calls one of these, and encodes.
struct Bookings: Sendable {
    let leads: LeadStore
    let appointments: AppointmentStore
    let reminders: ReminderStore
    let businesses: BusinessDirectory
    let messenger: Messenger
    /// `appointment.created`, `.updated` and `.cancelled`, recorded in the change's transaction.
    let events: EventOutbox

    /// Books `appointment` for its lead: 404 for another business's lead, 422 outside opening hours,
    /// 409 naming the appointment it overlaps (also when two arrive at once). One with a `reference`
    /// already booked answers the appointment booked first.
    @discardableResult
    func book(_ appointment: Appointment, requestID: String) async throws -> Appointment {
        guard try await leads.lead(id: appointment.leadID, businessID: appointment.businessID) != nil else {
            throw APIError.notFound(.leadNotFound, "Lead")
        }
        let info = try await businesses.business(appointment.businessID, requestID: requestID)
        try Self.checkHours(appointment, info)
        return try await appointments.db.transaction { [appointments, reminders, events] db in
            try await appointments.lockBookings(businessID: appointment.businessID, on: db)
            if let reference = appointment.reference,
                let booked = try await appointments.appointment(reference: reference, businessID: appointment.businessID, on: db)
            {
                return booked
            }
            try await Self.checkOverlap(appointment, in: appointments, on: db)
            try await appointments.insert(appointment, on: db)
            try await reminders.schedule(for: appointment, hoursBefore: info.reminderHours, on: db)
            try await Self.record("appointment.created", appointment, events, on: db)
            return appointment
        }
    }

    /// Saves `updated` over `original`: a move (or a return to holding a slot) is checked for hours
    /// and overlap again, and a move or status change reschedules the reminders.
    func change(_ original: Appointment, to updated: Appointment, requestID: String) async throws {
        let moved = updated.scheduledAt != original.scheduledAt || updated.duration != original.duration
        let recheck = updated.holdsSlot && (moved || !original.holdsSlot)
        let info = try await businesses.business(updated.businessID, requestID: requestID)
        if recheck { try Self.checkHours(updated, info) }
        try await appointments.db.transaction { [appointments, reminders, events] db in
            try await appointments.lockBookings(businessID: updated.businessID, on: db)
            if recheck { try await Self.checkOverlap(updated, in: appointments, on: db) }
            try await appointments.update(updated, on: db)
            if moved || updated.status != original.status {
                try await reminders.schedule(for: updated, hoursBefore: info.reminderHours, on: db)
            }
            let cancelled = updated.status == .cancelled && original.status != .cancelled
            try await Self.record(cancelled ? "appointment.cancelled" : "appointment.updated", updated, events, on: db)
        }
    }

    /// Cancels the appointment and its pending reminders; cancelling again changes nothing.
    func cancel(_ appointment: Appointment) async throws -> Appointment {
        guard appointment.status != .cancelled else { return appointment }
        var cancelled = appointment
        cancelled.status = .cancelled
        cancelled.updatedAt = Date()
        try await appointments.db.transaction { [appointments, reminders, events, cancelled] db in
            try await appointments.update(cancelled, on: db)
            try await reminders.cancelPending(appointmentID: cancelled.id, on: db)
            try await Self.record("appointment.cancelled", cancelled, events, on: db)
        }
        return cancelled
    }

    /// Reminds the appointment's lead now, by `method`, with `message` or the default text; the
    /// attempt is recorded whatever its outcome. Failures are the contract's: 422 on `method` when the
    /// lead cannot be reached that way, 502 with the message id when the provider failed.
    func remind(
        _ appointment: Appointment, method: Messenger.Method, message: String?, requestID: String
    ) async throws
        -> MessagingClient.Sent
    {
        guard let lead = try await leads.lead(id: appointment.leadID, businessID: appointment.businessID) else {
            throw APIError.notFound(.leadNotFound, "Lead")
        }
        guard let to = method == .sms ? lead.phone : lead.email else {
            throw APIError.validation(field: "method", method == .sms ? "the lead has no phone number" : "the lead has no email")
        }
        let info = try await businesses.business(appointment.businessID, requestID: requestID)
        let text = message ?? Scheduling.defaultReminder(businessName: info.name, start: appointment.scheduledAt, timeZone: info.timeZone)
        do {
            let sent = try await messenger.send(
                method, businessID: appointment.businessID, leadID: lead.id, to: to, subject: "Appointment reminder from \(info.name)",
                text: text, idempotencyKey: nil, requestID: requestID)
            try await reminders.recordManual(
                appointment: appointment, method: method.rawValue, status: sent.status, messageID: sent.id, error: nil, at: sent.sentAt)
            return sent
        } catch let failure as ServiceCallError {
            switch failure {
            case .optedOut:
                throw APIError.validation(field: "method", "the lead has opted out of text messages")
            case .validation(let fields):
                // Messaging refused the recipient: name the field the client sent.
                throw APIError.validation(field: "method", fields.values.first?.first ?? "the lead cannot receive this message")
            case .providerFailed(let messageID):
                try await reminders.recordManual(
                    appointment: appointment, method: method.rawValue, status: "failed", messageID: messageID, error: "provider failed",
                    at: Date())
                throw APIError(
                    502, .externalServiceError, "The reminder could not be delivered",
                    details: ["message_id": JSONValue(messageID), "appointment_id": .string(appointment.id)])
            default:
                try await reminders.recordManual(
                    appointment: appointment, method: method.rawValue, status: "failed", messageID: nil, error: "messaging unavailable",
                    at: Date())
                throw failure
            }
        }
    }

    static func record(_ type: String, _ appointment: Appointment, _ events: EventOutbox, on db: any SQLExecutor) async throws {
        try await events.record(type, businessID: appointment.businessID, resourceID: appointment.id, data: appointment.json, on: db)
    }

    static func checkHours(_ appointment: Appointment, _ info: BusinessInfo) throws {
        guard let hours = OpeningHours(businessSettings: info.settings) else { return }
        guard hours.contains(start: appointment.scheduledAt, durationMinutes: appointment.duration) else {
            throw APIError.validation(field: "scheduled_date", "is outside the business's opening hours")
        }
    }

    /// Inside the booking transaction, after `lockBookings`.
    static func checkOverlap(_ appointment: Appointment, in appointments: AppointmentStore, on db: any SQLExecutor) async throws {
        if let conflict = try await appointments.conflicting(
            businessID: appointment.businessID, start: appointment.scheduledAt, end: appointment.endsAt, excluding: appointment.id, on: db)
        {
            throw APIError.conflict("The time overlaps another appointment", details: ["conflicting_id": .string(conflict)])
        }
    }
}
