import CloudGreetCore
import Foundation
import Logging
import ServiceClients
import ServiceKit

/// Sends automatic reminders when they fall due. The schedule lives in crm's database, so it
/// survives restarts; each worker claims rows before sending (see `ReminderStore.claimDue`), and
/// messaging's idempotency key (the reminder id) keeps a retried claim from sending twice.
actor ReminderWorker {
    private let reminders: ReminderStore
    private let appointments: AppointmentStore
    private let leads: LeadStore
    private let businesses: BusinessDirectory
    private let messenger: Messenger
    private let logger: Logger
    private let metrics: ServiceMetrics

    init(bookings: Bookings, metrics: ServiceMetrics, logger: Logger) {
        reminders = bookings.reminders
        appointments = bookings.appointments
        leads = bookings.leads
        businesses = bookings.businesses
        messenger = bookings.messenger
        self.logger = logger
        self.metrics = metrics
    }

    /// One pass: claim what is due and send it. Returns how many reminders were handled.
    @discardableResult
    func tick(now: Date = Date()) async -> Int {
        await reminders.reminderQueue.work("reminders", now: now, logger: logger) { claim in
            // A row that does not read as a reminder is never sent: it is claimed again when its lease ends.
            guard let reminder = try? ReminderStore.DueReminder(claim) else { return }
            await self.send(reminder, now: now)
        }
    }

    struct StillQueued: Error {}

    private func send(_ reminder: ReminderStore.DueReminder, now: Date) async {
        let requestID = ResourceID.make(.request)
        do {
            guard let appointment = try await appointments.appointment(id: reminder.appointmentID, businessID: reminder.businessID),
                appointment.holdsSlot,
                appointment.scheduledAt.addingTimeInterval(TimeInterval(-reminder.hoursBefore * 3600)) == reminder.dueAt
            else {
                try await reminders.finish(reminder, status: "cancelled", method: nil, messageID: nil, error: nil)
                return
            }
            guard let lead = try await leads.lead(id: appointment.leadID, businessID: reminder.businessID) else {
                try await reminders.finish(reminder, status: "cancelled", method: nil, messageID: nil, error: "lead deleted")
                return
            }
            let info = try await businesses.business(reminder.businessID, requestID: requestID)
            let text = Scheduling.defaultReminder(businessName: info.name, start: appointment.scheduledAt, timeZone: info.timeZone)
            var attempts: [(Messenger.Method, String)] = []
            if let phone = lead.phone { attempts.append((.sms, phone)) }
            if let email = lead.email { attempts.append((.email, email)) }
            var lastError = "the lead has no phone or email"
            for (method, to) in attempts {
                do {
                    // The key names this reminder at this time: a retry returns the first message, a
                    // reminder moved with its appointment is a new one.
                    let key = "\(reminder.id)-\(Timestamp.milliseconds(reminder.dueAt))-\(method.rawValue)"
                    let sent = try await messenger.send(
                        method, businessID: reminder.businessID, leadID: lead.id, to: to,
                        subject: "Appointment reminder from \(info.name)", text: text,
                        idempotencyKey: key, requestID: requestID)
                    // Still `queued`: messaging has not heard back from the provider yet (a retry that
                    // outran the first call). Look again later rather than call it sent.
                    guard sent.status != "queued" else { throw StillQueued() }
                    try await reminders.finish(reminder, status: "sent", method: method.rawValue, messageID: sent.id, error: nil)
                    logger.info("reminder sent", metadata: ["reminder_id": .string(reminder.id), "method": .string(method.rawValue)])
                    return
                } catch ServiceCallError.optedOut {
                    lastError = "opted out"  // try the next way
                } catch ServiceCallError.validation {
                    lastError = "refused by messaging"
                } catch ServiceCallError.providerFailed {
                    lastError = "the provider failed"
                }
            }
            try await reminders.finish(reminder, status: "failed", method: nil, messageID: nil, error: lastError)
        } catch {
            // Messaging, identity or the database is down: tried again after the queue's backoff,
            // parked as failed after the last attempt.
            let outcome = try? await reminders.reminderQueue.fail(reminder.claim, error: String(describing: type(of: error)), now: now)
            logger.warning(
                "reminder deferred",
                metadata: [
                    "reminder_id": .string(reminder.id),
                    "final": .stringConvertible(outcome == .dead),
                ])
            metrics.increment("queue_items_total", labels: ["queue": "reminders", "outcome": outcome == .dead ? "dead" : "retried"])
            return
        }
    }
}
