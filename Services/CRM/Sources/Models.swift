import CloudGreetCore
import Foundation
import Persistence

enum AppointmentStatus: String, CaseIterable, Sendable, Encodable {
    case scheduled, confirmed, completed, cancelled
    case noShow = "no_show"

    /// Only these hold their slot: the overlap rule and reminders apply to them.
    var holdsSlot: Bool { self == .scheduled || self == .confirmed }
}

enum LeadStatus: String, CaseIterable, Sendable, Encodable {
    case new, qualified, unqualified, converted
}

enum LeadSource: String, CaseIterable, Sendable, Encodable {
    case call, sms, email, web
}

/// A lead as clients see it. `qualification` (the last breakdown) is kept but shown only by
/// `/qualify`.
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

    /// Written out rather than through `Encodable`: a page of 50 leads cost crm 1.7M instructions
    /// in `JSONValueEncoder`'s containers, a third of the request.
    var json: JSONValue {
        [
            "id": .string(id), "business_id": .string(businessID), "name": JSONValue(name), "phone": JSONValue(phone),
            "email": JSONValue(email), "source": .string(source.rawValue), "status": .string(status.rawValue),
            "notes": JSONValue(notes), "qualification_score": JSONValue(qualificationScore), "created_at": JSONValue(createdAt),
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

struct Appointment: Sendable, Encodable, JSONRepresentable {
    var id: String
    var businessID: String
    var leadID: String
    var scheduledAt: Date
    var duration: Int
    var status: AppointmentStatus
    var type: String?
    var notes: String?
    @Amount var valueCents: Int?
    /// Set when another service booked it (see `CRMClient.Booking.reference`); not shown to clients.
    var reference: String? = nil
    var createdAt: Date
    var updatedAt: Date

    var endsAt: Date { scheduledAt.addingTimeInterval(TimeInterval(duration * 60)) }
    var holdsSlot: Bool { status.holdsSlot }

    enum CodingKeys: String, CodingKey {
        case id, duration, status, type, notes
        case businessID = "business_id"
        case leadID = "lead_id"
        case scheduledAt = "scheduled_date"
        case valueCents = "value"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

extension Appointment {
    init(row: SQLRow) throws {
        self.init(
            id: try row.required("id"), businessID: try row.required("business_id"), leadID: try row.required("lead_id"),
            scheduledAt: try row.requiredDate("scheduled_at"), duration: row.int("duration") ?? 30,
            status: try row.required("status", as: AppointmentStatus.self), type: row.string("type"), notes: row.string("notes"),
            valueCents: row.int("value_cents"), reference: row.string("reference"), createdAt: try row.requiredDate("created_at"),
            updatedAt: try row.requiredDate("updated_at"))
    }
}

/// Money kept as integer cents and shown to clients as an amount: 15050 is `150.5`.
@propertyWrapper
struct Amount: Sendable, Encodable {
    var wrappedValue: Int?

    // Declared, not synthesized: only then does a memberwise init take `valueCents: Int?`.
    init(wrappedValue cents: Int?) { wrappedValue = cents }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let cents = wrappedValue { try container.encode(Double(cents) / 100) } else { try container.encodeNil() }
    }
}
