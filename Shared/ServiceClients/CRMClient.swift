import CloudGreetCore
import Foundation

/// What other services ask crm, as typed calls.
public struct CRMClient: Sendable {
    /// A lead as other services need it.
    public struct Lead: Sendable, Equatable {
        public let id: String
        public let businessID: String
        public let name: String?
        public let phone: String?
        public let email: String?

        public init(id: String, businessID: String, name: String? = nil, phone: String? = nil, email: String? = nil) {
            self.id = id
            self.businessID = businessID
            self.name = name
            self.phone = phone
            self.email = email
        }

        init(_ json: JSONValue?) throws {
            guard let json, let id = json["id"]?.stringValue, let business = json["business_id"]?.stringValue else {
                throw ServiceCallError.malformed(.crm)
            }
            self.init(
                id: id, businessID: business, name: json["name"]?.stringValue, phone: json["phone"]?.stringValue,
                email: json["email"]?.stringValue)
        }
    }

    /// An appointment to book for a lead on the business's behalf (voice-agent, when a call ends with
    /// one agreed). `reference` names what asked for it (a call id): booking the same reference again
    /// returns the first appointment instead of a second one.
    public struct Booking: Sendable, Equatable {
        public var businessID: String
        public var leadID: String
        public var scheduledAt: Date
        public var duration: Int
        public var notes: String?
        public var reference: String

        public init(businessID: String, leadID: String, scheduledAt: Date, duration: Int, notes: String?, reference: String) {
            self.businessID = businessID
            self.leadID = leadID
            self.scheduledAt = scheduledAt
            self.duration = duration
            self.notes = notes
            self.reference = reference
        }
    }

    /// A booked appointment. Refusals are typed: `.conflict` (the slot is taken, `details.conflicting_id`),
    /// `.validation` (outside opening hours, in the past), `.notFound` (no such lead).
    public struct Appointment: Sendable, Equatable, Decodable {
        public let id: String
        public let leadID: String
        public let scheduledAt: Date
        public let status: String

        enum CodingKeys: String, CodingKey {
            case id, status
            case leadID = "lead_id"
            case scheduledAt = "scheduled_date"
        }
    }

    /// crm's answer to a `StatsQuery`: leads created in the period grouped by status, source and score
    /// band (0 for 0-19 .. 4 for 80-100, nil when unscored); appointments scheduled in the period by
    /// status with their value; and the day's and months' figures.
    public struct Stats: Sendable, Equatable, Codable {
        public struct LeadGroup: Sendable, Equatable, Codable {
            public var status: String
            public var source: String
            public var band: Int?
            public var count: Int
            public var scoreSum: Int

            public init(status: String, source: String, band: Int?, count: Int, scoreSum: Int) {
                self.status = status
                self.source = source
                self.band = band
                self.count = count
                self.scoreSum = scoreSum
            }

            enum CodingKeys: String, CodingKey {
                case status, source, band, count
                case scoreSum = "score_sum"
            }
        }

        public struct AppointmentGroup: Sendable, Equatable, Codable {
            public var status: String
            public var count: Int
            public var valueCents: Int

            public init(status: String, count: Int, valueCents: Int) {
                self.status = status
                self.count = count
                self.valueCents = valueCents
            }

            enum CodingKeys: String, CodingKey {
                case status, count
                case valueCents = "value_cents"
            }
        }

        public var leads: [LeadGroup]
        public var leadsCreatedToday: Int
        public var appointments: [AppointmentGroup]
        public var appointmentsToday: Int
        public var revenueThisMonthCents: Int
        public var revenueLastMonthCents: Int

        public init(
            leads: [LeadGroup], leadsCreatedToday: Int, appointments: [AppointmentGroup], appointmentsToday: Int,
            revenueThisMonthCents: Int, revenueLastMonthCents: Int
        ) {
            self.leads = leads
            self.leadsCreatedToday = leadsCreatedToday
            self.appointments = appointments
            self.appointmentsToday = appointmentsToday
            self.revenueThisMonthCents = revenueThisMonthCents
            self.revenueLastMonthCents = revenueLastMonthCents
        }

        enum CodingKeys: String, CodingKey {
            case leads, appointments
            case leadsCreatedToday = "leads_created_today"
            case appointmentsToday = "appointments_today"
            case revenueThisMonthCents = "revenue_this_month_cents"
            case revenueLastMonthCents = "revenue_last_month_cents"
        }
    }

    /// The lead with this phone in the business, created (with `source`) when there is none.
    public var upsertLead:
        @Sendable (_ businessID: String, _ phone: String, _ source: String, _ requestID: String) async throws
            -> (lead: Lead, created: Bool)
    /// A lead, asked on behalf of `caller`, so that crm's tenancy applies (another business's is not found).
    public var lead: @Sendable (_ id: String, _ caller: Caller, _ requestID: String) async throws -> Lead
    public var book: @Sendable (_ booking: Booking, _ requestID: String) async throws -> Appointment
    public var stats: @Sendable (_ query: StatsQuery, _ requestID: String) async throws -> Stats

    public init(
        upsertLead: @escaping @Sendable (String, String, String, String) async throws -> (lead: Lead, created: Bool) = { _, _, _, _ in
            throw ServiceCallError.unavailable(.crm)
        },
        lead: @escaping @Sendable (String, Caller, String) async throws -> Lead = { _, _, _ in throw ServiceCallError.unavailable(.crm) },
        book: @escaping @Sendable (Booking, String) async throws -> Appointment = { _, _ in throw ServiceCallError.unavailable(.crm) },
        stats: @escaping @Sendable (StatsQuery, String) async throws -> Stats = { _, _ in throw ServiceCallError.unavailable(.crm) }
    ) {
        self.upsertLead = upsertLead
        self.lead = lead
        self.book = book
        self.stats = stats
    }

    public static func live(_ client: InternalClient, as service: ServiceName) -> CRMClient {
        CRMClient(
            upsertLead: { businessID, phone, source, requestID in
                // Safe to retry: a second upsert finds the lead the first one made.
                let data = try await client.data(
                    .crm, .POST, "/internal/leads/upsert",
                    body: ["business_id": .string(businessID), "phone": .string(phone), "source": .string(source)],
                    as: .service(service), requestID: requestID, idempotencyKey: "upsert:\(businessID):\(phone)")
                guard let created = data["created"]?.boolValue else { throw ServiceCallError.malformed(.crm) }
                return (try Lead(data["lead"]), created)
            },
            lead: { id, caller, requestID in
                try Lead(
                    try await client.data(
                        .crm, .GET, "/leads/" + InternalClient.pathSegment(id), as: caller,
                        requestID: requestID))
            },
            book: { booking, requestID in
                let data = try await client.data(
                    .crm, .POST, "/internal/appointments",
                    body: [
                        "business_id": .string(booking.businessID), "lead_id": .string(booking.leadID),
                        "scheduled_date": JSONValue(booking.scheduledAt), "duration": JSONValue(booking.duration),
                        "notes": JSONValue(booking.notes), "reference": .string(booking.reference),
                    ],
                    as: .service(service), requestID: requestID, idempotencyKey: "book:\(booking.businessID):\(booking.reference)")
                return try InternalClient.decode(Appointment.self, from: data, of: .crm)
            },
            stats: { query, requestID in
                try await query.fetch(Stats.self, from: .crm, client, as: service, requestID: requestID)
            })
    }
}
