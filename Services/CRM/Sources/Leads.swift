import CloudGreetCore
import Foundation
import Persistence
import ServiceKit

/// crm's application layer for leads: one lead per phone and per email in a business (the unique
/// indexes settle races), qualification, and erasure (`erase`) that reaches the lead's
/// appointments, reminders, calls and messages.
struct Leads: Sendable {
    let leads: LeadStore
    let appointments: AppointmentStore
    let reminders: ReminderStore
    let erasures: ErasureStore
    /// `lead.created` and `lead.updated`, recorded in the change's transaction.
    let events: EventOutbox
    let qualifyThreshold: Int

    /// Inserts the lead; the same phone or email in the business is a 409 naming the lead that has it.
    func create(_ lead: Lead) async throws {
        if let existing = try await leads.lead(businessID: lead.businessID, phone: lead.phone, email: lead.email) {
            throw Self.duplicate(existing.id)
        }
        do {
            try await insert(lead)
        } catch DatabaseError.uniqueViolation {
            throw Self.duplicate(try await leads.lead(businessID: lead.businessID, phone: lead.phone, email: lead.email)?.id)
        }
    }

    /// Saves `lead` over `original`; only a phone or email that changed can collide with another lead.
    func change(_ original: Lead, to lead: Lead) async throws {
        if let other = try await leads.lead(
            businessID: lead.businessID, phone: lead.phone != original.phone ? lead.phone : nil,
            email: lead.email != original.email ? lead.email : nil),
            other.id != lead.id
        {
            throw Self.duplicate(other.id)
        }
        do {
            try await save(lead)
        } catch DatabaseError.uniqueViolation {
            throw Self.duplicate(nil)
        }
    }

    /// Scores the lead against the breakdown and saves it, `qualified` at or above the threshold.
    func qualify(_ lead: Lead, breakdown: [Qualification.Factor]) async throws -> (lead: Lead, score: Int) {
        var lead = lead
        let score = breakdown.reduce(0) { $0 + $1.points }
        lead.qualificationScore = score
        lead.qualification = .array(breakdown.map(\.json))
        lead.status = score >= qualifyThreshold ? .qualified : .unqualified
        lead.updatedAt = Date()
        try await save(lead)
        return (lead, score)
    }

    /// Erases the lead: the lead goes, its appointments lose their notes (their time, status and
    /// value stay, so the figures do not change) and their pending reminders stop, webhook events
    /// about it not yet handed on are dropped, and the erasure is recorded with each other
    /// service's part still to do, all in one transaction. Nil when the
    /// business has no such lead.
    func erase(id: String, businessID: String, erasedBy: String) async throws -> String? {
        try await leads.db.transaction { [leads, appointments, reminders, erasures, events] db in
            guard let lead = try await leads.delete(id: id, businessID: businessID, on: db) else { return nil }
            for appointment in try await appointments.forget(leadID: id, businessID: businessID, on: db) {
                try await reminders.cancelPending(appointmentID: appointment, on: db)
            }
            // Events about them not yet handed to messaging never leave.
            try await events.erase(businessID: businessID, mentioning: [id], on: db)
            return try await erasures.record(lead, erasedBy: erasedBy, on: db)
        }
    }

    /// The lead with this phone or email, created if there is none. Two callers racing for the same
    /// number get the same lead.
    func upsert(_ candidate: Lead) async throws -> (lead: Lead, created: Bool) {
        if let existing = try await leads.lead(businessID: candidate.businessID, phone: candidate.phone, email: candidate.email) {
            return (existing, false)
        }
        do {
            try await insert(candidate)
            return (candidate, true)
        } catch DatabaseError.uniqueViolation {
            guard let winner = try await leads.lead(businessID: candidate.businessID, phone: candidate.phone, email: candidate.email)
            else { throw APIError.internal }
            return (winner, false)
        }
    }

    private func insert(_ lead: Lead) async throws {
        try await leads.db.transaction { [leads, events] db in
            try await leads.insert(lead, on: db)
            try await events.record("lead.created", businessID: lead.businessID, resourceID: lead.id, data: lead.json, on: db)
        }
    }

    private func save(_ lead: Lead) async throws {
        try await leads.db.transaction { [leads, events] db in
            try await leads.update(lead, on: db)
            try await events.record("lead.updated", businessID: lead.businessID, resourceID: lead.id, data: lead.json, on: db)
        }
    }

    static func duplicate(_ existingID: String?) -> APIError {
        APIError.conflict(
            "A lead with this phone or email already exists", details: existingID.map { ["existing_id": .string($0)] })
    }
}
