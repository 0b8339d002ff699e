import CloudGreetCore
import Foundation
import Hummingbird
import Persistence
import ServiceClients
import ServiceKit

/// crm's HTTP surface: `/leads*`, `/appointments*` and the internal lead upsert.
struct CRMRoutes: Sendable {
    let runtime: ServiceRuntime
    let settings: CRMSettings
    let leads: Leads
    let bookings: Bookings
    let erasures: ErasureWorker

    var config: ServiceConfig { runtime.config }

    func register(on router: Router<AppContext>) {
        let business = router.group().add(middleware: TenantMiddleware())
        business.get("/leads", use: listLeads)
        business.post("/leads", use: createLead)
        business.get("/leads/{id}", use: getLead)
        business.put("/leads/{id}", use: updateLead)
        business.post("/leads/{id}/qualify", use: qualifyLead)
        business.get("/appointments", use: listAppointments)
        business.post("/appointments", use: createAppointment)
        business.get("/appointments/{id}", use: getAppointment)
        business.put("/appointments/{id}", use: updateAppointment)
        business.delete("/appointments/{id}", use: cancelAppointment)
        business.post("/appointments/{id}/remind", use: remind)
        router.group().add(middleware: TenantMiddleware()).add(middleware: RoleMiddleware(.admin)).delete("/leads/{id}", use: deleteLead)
        let services = router.group().add(middleware: ServiceOnlyMiddleware())
        services.post("/internal/leads/upsert", use: upsertLead)
        services.post("/internal/appointments", use: bookForService)
        services.get("/internal/stats", use: stats)
    }

    // MARK: leads

    @Sendable func listLeads(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let query = request.query
        let page = try Page(query: query)
        var errors: [String: [String]] = [:]
        let status = query["status"].map { LeadStatus(rawValue: $0) }
        let source = query["source"].map { LeadSource(rawValue: $0) }
        if case .some(nil) = status { errors["status"] = ["is not a lead status"] }
        if case .some(nil) = source { errors["source"] = ["is not a lead source"] }
        if !errors.isEmpty { throw APIError.validation(errors) }
        let search = query["search"].map { String($0.trimmingCharacters(in: .whitespaces).prefix(100)) }
        let listing = try await leads.leads.leads(
            businessID: businessID,
            filter: .init(status: status ?? nil, source: source ?? nil, search: search?.isEmpty == false ? search : nil),
            page: page)
        return .envelope(listing.json("leads"), context: context)
    }

    @Sendable func createLead(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes, businessID: businessID)
        let now = Date()
        let lead = Lead(
            id: ResourceID.make(.lead), businessID: businessID, name: fields.string("name", maxLength: 200),
            phone: fields.phone("phone", defaultCountryCode: config.defaultCountryCode), email: fields.email("email"),
            source: fields.oneOf("source", LeadSource.self) ?? .web,
            status: fields.oneOf("status", LeadStatus.self) ?? .new,
            notes: fields.string("notes", maxLength: 5000, multiline: true),
            qualificationScore: nil, qualification: nil, createdAt: now, updatedAt: now)
        if !fields.has("phone") && !fields.has("email") { fields.fail("phone", "phone or email is required") }
        try fields.finish()
        guard lead.phone != nil || lead.email != nil else { throw APIError.validation(field: "phone", "phone or email is required") }
        try await leads.create(lead)
        return .envelope(lead.json, status: .created, message: "Lead created", context: context)
    }

    private func ownLead(_ context: AppContext, businessID: String) async throws -> Lead {
        let id = try context.parameters.require("id", context: context)
        guard let lead = try await leads.leads.lead(id: id, businessID: businessID) else { throw APIError.notFound(.leadNotFound, "Lead") }
        return lead
    }

    @Sendable func getLead(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        return .envelope(try await ownLead(context, businessID: businessID).json, context: context)
    }

    @Sendable func updateLead(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes, businessID: businessID)
        var lead = try await ownLead(context, businessID: businessID)
        let original = lead
        if fields.has("name") { lead.name = fields.string("name", maxLength: 200) }
        if fields.has("phone") { lead.phone = fields.phone("phone", defaultCountryCode: config.defaultCountryCode) }
        if fields.has("email") { lead.email = fields.email("email") }
        if fields.has("notes") { lead.notes = fields.string("notes", maxLength: 5000, multiline: true) }
        if fields.has("status") { lead.status = fields.oneOf("status", LeadStatus.self, required: true) ?? lead.status }
        if fields.has("source") { lead.source = fields.oneOf("source", LeadSource.self, required: true) ?? lead.source }
        if lead.phone == nil && lead.email == nil { fields.fail("phone", "a lead keeps a phone or an email") }
        try fields.finish()
        lead.updatedAt = Date()
        try await leads.change(original, to: lead)
        return .envelope(lead.json, message: "Lead updated", context: context)
    }

    /// Erases the person everywhere (`Leads.erase`), then asks the other services for their parts
    /// at once; a part not confirmed by the answer is listed in `erasure.pending` and finished by the
    /// worker when that service is back.
    @Sendable func deleteLead(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let id = try context.parameters.require("id", context: context)
        guard let erasureID = try await leads.erase(id: id, businessID: businessID, erasedBy: context.caller?.subject ?? "unknown")
        else { throw APIError.notFound(.leadNotFound, "Lead") }
        await erasures.tick(erasureID: erasureID)
        // The lead is gone whatever this read says: if it fails, every part is reported pending.
        let pending = (try? await erasures.store.pending(erasureID: erasureID)) ?? ErasureStore.services.map(\.rawValue)
        let erasure: JSONValue = [
            "id": .string(erasureID), "status": pending.isEmpty ? "complete" : "pending", "pending": .array(pending.map(JSONValue.string)),
        ]
        return .envelope(["id": .string(id), "deleted": true, "erasure": erasure], message: "Lead deleted", context: context)
    }

    @Sendable func qualifyLead(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes, businessID: businessID)
        let criteria = Qualification.read(fields)
        try fields.finish()
        let breakdown = Qualification.breakdown(try fields.present(criteria, "criteria"))
        let (lead, score) = try await leads.qualify(try await ownLead(context, businessID: businessID), breakdown: breakdown)
        let qualification = lead.qualification ?? []
        let data = lead.json.merging(["qualification": ["score": JSONValue(score), "breakdown": qualification]])
        return .envelope(data, message: "Lead qualified", context: context)
    }

    /// For messaging and voice-agent: the lead with this phone or email, created if there is none.
    /// Two callers racing for the same number get the same lead.
    @Sendable func upsertLead(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let business = fields.id("business_id", .business, required: true)
        let phone = fields.phone("phone", defaultCountryCode: config.defaultCountryCode)
        let email = fields.email("email")
        let name = fields.string("name", maxLength: 200)
        let source = fields.oneOf("source", LeadSource.self) ?? .web
        if phone == nil && email == nil { fields.fail("phone", "phone or email is required") }
        try fields.finish()
        let businessID = try fields.present(business, "business_id")
        let now = Date()
        let (lead, created) = try await leads.upsert(
            Lead(
                id: ResourceID.make(.lead), businessID: businessID, name: name, phone: phone, email: email,
                source: source, status: .new, notes: nil, qualificationScore: nil, qualification: nil,
                createdAt: now, updatedAt: now))
        return .envelope(["lead": lead.json, "created": .bool(created)], status: created ? .created : .ok, context: context)
    }

    // MARK: appointments

    @Sendable func listAppointments(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let query = request.query
        let page = try Page(query: query)
        var errors: [String: [String]] = [:]
        let status = query["status"].map { AppointmentStatus(rawValue: $0) }
        if case .some(nil) = status { errors["status"] = ["is not an appointment status"] }
        let start = query["start_date"].map { Timestamp.parse($0) }
        let end = query["end_date"].map { Timestamp.parse($0) }
        if case .some(nil) = start { errors["start_date"] = ["must be an ISO 8601 date-time"] }
        if case .some(nil) = end { errors["end_date"] = ["must be an ISO 8601 date-time"] }
        if !errors.isEmpty { throw APIError.validation(errors) }
        let listing = try await bookings.appointments.appointments(
            businessID: businessID, filter: .init(status: status ?? nil, start: start ?? nil, end: end ?? nil), page: page)
        return .envelope(listing.json("appointments"), context: context)
    }

    @Sendable func createAppointment(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes, businessID: businessID)
        let lead = fields.id("lead_id", .lead, required: true)
        let scheduled = fields.date("scheduled_date", required: true)
        let duration = fields.int("duration", range: Scheduling.durationRange) ?? 30
        // A new appointment holds its slot: `scheduled` or `confirmed` only.
        let status = fields.oneOf("status", ["scheduled", "confirmed"]).flatMap(AppointmentStatus.init(rawValue:)) ?? .scheduled
        let type = fields.string("type", maxLength: 100)
        let notes = fields.string("notes", maxLength: 5000, multiline: true)
        let value = readValue(fields)
        if let scheduled, scheduled <= Date() { fields.fail("scheduled_date", "must be in the future") }
        try fields.finish()
        let leadID = try fields.present(lead, "lead_id")
        let start = try fields.present(scheduled, "scheduled_date")
        let now = Date()
        let appointment = Appointment(
            id: ResourceID.make(.appointment), businessID: businessID, leadID: leadID,
            scheduledAt: start, duration: duration, status: status, type: type, notes: notes,
            valueCents: value ?? nil, createdAt: now, updatedAt: now)
        try await bookings.book(appointment, requestID: context.requestID)
        return .envelope(appointment.json, status: .created, message: "Appointment booked", context: context)
    }

    /// `value`: absent, null, or money with at most two decimals, at least zero.
    private func readValue(_ fields: FieldReader) -> Int?? {
        guard fields.has("value") else { return nil }
        guard let cents = Scheduling.cents(fields.object["value"]) else {
            fields.fail("value", "must be an amount of at least 0 with at most two decimals")
            return nil
        }
        return .some(cents)
    }

    private func ownAppointment(_ context: AppContext, businessID: String) async throws -> Appointment {
        let id = try context.parameters.require("id", context: context)
        guard let appointment = try await bookings.appointments.appointment(id: id, businessID: businessID) else {
            throw APIError.notFound(.appointmentNotFound, "Appointment")
        }
        return appointment
    }

    @Sendable func getAppointment(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        return .envelope(try await ownAppointment(context, businessID: businessID).json, context: context)
    }

    @Sendable func updateAppointment(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes, businessID: businessID)
        var appointment = try await ownAppointment(context, businessID: businessID)
        let original = appointment
        if let start = fields.date("scheduled_date", required: fields.has("scheduled_date")) {
            if start <= Date() { fields.fail("scheduled_date", "must be in the future") }
            appointment.scheduledAt = start
        }
        if let duration = fields.int("duration", required: fields.has("duration"), range: Scheduling.durationRange) {
            appointment.duration = duration
        }
        if let status = fields.oneOf("status", AppointmentStatus.self, required: fields.has("status")) { appointment.status = status }
        if fields.has("type") { appointment.type = fields.string("type", maxLength: 100) }
        if fields.has("notes") { appointment.notes = fields.string("notes", maxLength: 5000, multiline: true) }
        if let value = readValue(fields) { appointment.valueCents = value }
        try fields.finish()
        appointment.updatedAt = Date()
        try await bookings.change(original, to: appointment, requestID: context.requestID)
        return .envelope(appointment.json, message: "Appointment updated", context: context)
    }

    @Sendable func cancelAppointment(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let cancelled = try await bookings.cancel(try await ownAppointment(context, businessID: businessID))
        return .envelope(cancelled.json, message: "Appointment cancelled", context: context)
    }

    /// For voice-agent: books an appointment agreed on a call, under the call's `reference`, so that a
    /// repeated request answers the first booking.
    @Sendable func bookForService(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let business = fields.id("business_id", .business, required: true)
        let lead = fields.id("lead_id", .lead, required: true)
        let scheduled = fields.date("scheduled_date", required: true)
        let duration = fields.int("duration", range: Scheduling.durationRange) ?? 30
        let notes = fields.string("notes", maxLength: 5000, multiline: true)
        let reference = fields.string("reference", required: true, maxLength: 200)
        try fields.finish()
        let now = Date()
        let requested = Appointment(
            id: ResourceID.make(.appointment), businessID: try fields.present(business, "business_id"),
            leadID: try fields.present(lead, "lead_id"), scheduledAt: try fields.present(scheduled, "scheduled_date"),
            duration: duration, status: .scheduled, type: nil, notes: notes, valueCents: nil,
            reference: try fields.present(reference, "reference"), createdAt: now, updatedAt: now)
        let booked = try await bookings.book(requested, requestID: context.requestID)
        if booked.id == requested.id, booked.scheduledAt <= now {
            // Checked after the reference, so a repeat of an earlier booking still answers it.
            throw APIError.validation(field: "scheduled_date", "must be in the future")
        }
        return .envelope(booked.json, status: booked.id == requested.id ? .created : .ok, context: context)
    }

    /// For analytics: the counts behind its reports (`CRMClient.Stats`). "Today" and the months
    /// count only inside the period, when there is one.
    @Sendable func stats(_ request: Request, context: AppContext) async throws -> Response {
        let stats = try await Statistics(leads: leads.leads, appointments: bookings.appointments).stats(StatsQuery(query: request.query))
        return .envelope(try JSONValueEncoder.encode(stats), context: context)
    }

    @Sendable func remind(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes, businessID: businessID)
        let chosen = fields.oneOf("method", ["sms", "email"], required: true).flatMap(Messenger.Method.init(rawValue:))
        let message = fields.string("message", maxLength: 1600, multiline: true)
        try fields.finish()
        let method = try fields.present(chosen, "method")
        let appointment = try await ownAppointment(context, businessID: businessID)
        let sent = try await bookings.remind(appointment, method: method, message: message, requestID: context.requestID)
        return .envelope(
            [
                "appointment_id": .string(appointment.id), "method": .string(method.rawValue), "status": .string(sent.status),
                "message_id": .string(sent.id), "sent_at": JSONValue(sent.sentAt),
            ], message: "Reminder sent", context: context)
    }
}
