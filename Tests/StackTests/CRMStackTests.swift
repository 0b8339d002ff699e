import CloudGreetCore
import Foundation
import Persistence
import ServiceClients
import TestSupport
import Testing

/// crm through the gateway, with messaging sending to a local fake Telnyx and a real SMTP server.
@Suite(.serialized) struct CRMStackTests {
    typealias Engine = StackTests.Engine

    /// A running stack with its outside world: fake Telnyx and aiosmtpd.
    struct World {
        let stack: Stack
        let telnyx: FakeTelnyx
        let smtp: SMTPTestServer

        func stop() {
            stack.stop()
            telnyx.stop()
            smtp.stop()
        }

        /// Texts Telnyx received for `phone`.
        func texts(to phone: String) -> [FakeTelnyx.Received] { telnyx.received.filter { $0.body["to"]?.stringValue == phone } }
    }

    static func world(
        _ engine: Engine, environment: [String: String] = [:], databases extra: [ServiceName: String] = [:]
    ) async throws -> World? {
        guard var databases = try await StackTests.databases(engine) else { return nil }
        databases.merge(extra) { $1 }
        let telnyx = FakeTelnyx()
        try await telnyx.start()
        telnyx.own("+15557770000")  // the business number the tests claim
        let smtp = try await SMTPTestServer(directory: TestEnvironment.temporaryDirectory())
        var env = [
            "TELNYX_API_KEY": telnyx.apiKey, "TELNYX_API_BASE": telnyx.baseURL, "SMTP_URL": smtp.url,
            "EMAIL_FROM": "reminders@cloudgreet.test",
        ]
        env.merge(environment) { $1 }
        let stack = try await Stack(environment: env, databases: databases)
        return World(stack: stack, telnyx: telnyx, smtp: smtp)
    }

    /// The next `weekday` (1 = Sunday) at `hour:minute` local time in `zone`, at least two days ahead.
    static func next(weekday: Int, hour: Int, minute: Int = 0, zone: String = "America/New_York") -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        var day = calendar.startOfDay(for: Date().addingTimeInterval(2 * 86400))
        while calendar.component(.weekday, from: day) != weekday { day = calendar.date(byAdding: .day, value: 1, to: day)! }
        return calendar.date(bySettingHour: hour, minute: minute, second: 0, of: day)!
    }

    static let allWeek: JSONValue = .object(
        Dictionary(
            uniqueKeysWithValues: [
                "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
            ].map { ($0, ["open": "09:00", "close": "17:00"] as JSONValue) }))

    @Test(arguments: Engine.allCases)
    func leadLifeThroughTheGateway(engine: Engine) async throws {
        guard let databases = try await StackTests.databases(engine) else { return }
        let stack = try await Stack(services: [.gateway, .identity, .crm], databases: databases)
        defer { stack.stop() }
        let owner = try await stack.register("owner@example.com")
        let token = owner.token

        let created = try await stack.call(
            .POST, "/leads",
            [
                "name": "Ana Diaz", "phone": "(555) 201-3344",
                "email": "Ana@Example.com", "notes": "Leaky faucet",
            ], token: token)
        #expect(created.status == 201)
        #expect(created.data["phone"] == "+15552013344" && created.data["email"] == "ana@example.com")
        #expect(created.data["source"] == "web" && created.data["status"] == "new")
        let leadID = try #require(created.data["id"]?.stringValue)
        #expect(ResourceID.isValid(leadID, kind: .lead))

        let samePhone = try await stack.call(.POST, "/leads", ["name": "Other", "phone": "555-201-3344"], token: token)
        #expect(samePhone.status == 409 && samePhone.body["details"]?["existing_id"]?.stringValue == leadID)
        let sameEmail = try await stack.call(.POST, "/leads", ["email": "ANA@example.com"], token: token)
        #expect(sameEmail.status == 409 && sameEmail.body["details"]?["existing_id"]?.stringValue == leadID)
        let neither = try await stack.call(.POST, "/leads", ["name": "Nobody"], token: token)
        #expect(neither.status == 422)
        let bad = try await stack.call(.POST, "/leads", ["phone": "call me", "email": 12, "source": "fax"], token: token)
        #expect(Set(bad.body["details"]?.objectValue?.keys.map { $0 } ?? []) == ["phone", "email", "source"])
        let malformed = try await TestHTTP.request(.POST, stack.api + "/leads", body: "{\"name\":", token: token)
        #expect(malformed.status == 400)
        let foreignBody = try await stack.call(.POST, "/leads", ["phone": "+15550000001", "business_id": "business_x"], token: token)
        #expect(foreignBody.status == 403)

        _ = try await stack.call(.POST, "/leads", ["name": "Bo Stone", "phone": "+15552019999", "source": "call"], token: token)
        _ = try await stack.call(.POST, "/leads", ["name": "Cy Park", "email": "cy@example.com", "source": "sms"], token: token)
        let all = try await stack.call(.GET, "/leads?limit=2", token: token)
        #expect(all.data["pagination"] == ["page": 1, "limit": 2, "total": 3, "pages": 2])
        #expect(all.data["leads"]?.arrayValue?.first?["name"] == "Cy Park")  // newest first
        #expect(try await stack.call(.GET, "/leads?search=ANA", token: token).data["leads"]?.arrayValue?.count == 1)
        #expect(try await stack.call(.GET, "/leads?search=2019999", token: token).data["leads"]?.arrayValue?.count == 1)
        #expect(try await stack.call(.GET, "/leads?source=call", token: token).data["pagination"]?["total"] == 1)
        #expect(try await stack.call(.GET, "/leads?status=maybe", token: token).status == 422)

        let updated = try await stack.call(.PUT, "/leads/\(leadID)", ["notes": "Kitchen sink", "name": "Ana D."], token: token)
        #expect(updated.status == 200 && updated.data["notes"] == "Kitchen sink" && updated.data["phone"] == "+15552013344")
        let clash = try await stack.call(.PUT, "/leads/\(leadID)", ["email": "cy@example.com"], token: token)
        #expect(clash.status == 409)

        let hot = try await stack.call(
            .POST, "/leads/\(leadID)/qualify",
            [
                "criteria": [
                    "budget": "high", "timeline": "immediate", "decision_maker": true, "urgency": "high",
                ]
            ], token: token)
        #expect(hot.status == 200)
        let qualification = try #require(hot.data["qualification"])
        let points = qualification["breakdown"]?.arrayValue?.compactMap { $0["points"]?.intValue } ?? []
        #expect(qualification["score"]?.intValue == points.reduce(0, +) && points.reduce(0, +) == 90)
        #expect(hot.data["status"] == "qualified" && hot.data["qualification_score"] == 90)
        let cold = try await stack.call(
            .POST, "/leads/\(leadID)/qualify",
            [
                "criteria": [
                    "budget": "low", "timeline": "exploring", "decision_maker": false,
                ]
            ], token: token)
        #expect(cold.data["status"] == "unqualified" && cold.data["qualification_score"] == 8)
        let unknown = try await stack.call(
            .POST, "/leads/\(leadID)/qualify", ["criteria": ["budget": "huge", "timeline": "soon"]],
            token: token)
        #expect(
            Set(unknown.body["details"]?.objectValue?.keys.map { $0 } ?? []) == ["criteria.budget", "criteria.timeline", "criteria.decision_maker"])

        let converted = try await stack.call(.PUT, "/leads/\(leadID)", ["status": "converted"], token: token)
        #expect(converted.data["status"] == "converted")
        #expect(try await stack.call(.GET, "/leads?status=converted", token: token).data["pagination"]?["total"] == 1)

        // Another business sees none of it.
        let rival = try await stack.register("rival@example.com", business: "Rival")
        for (method, path, body) in [
            (HTTPMethodName.GET, "/leads/\(leadID)", nil as JSONValue?),
            (.PUT, "/leads/\(leadID)", ["notes": "mine"]), (.DELETE, "/leads/\(leadID)", nil),
            (
                .POST, "/leads/\(leadID)/qualify",
                [
                    "criteria": [
                        "budget": "high", "timeline": "immediate",
                        "decision_maker": true,
                    ]
                ]
            ),
        ] {
            let reply = try await stack.call(method, path, body, token: rival.token)
            #expect(reply.status == 404 && reply.code == "LEAD_NOT_FOUND", "\(method) \(path)")
        }
        #expect(try await stack.call(.GET, "/leads", token: rival.token).data["pagination"]?["total"] == 0)

        // Only an admin deletes, and deleting erases.
        let member = try await stack.call(
            .POST, "/businesses/\(owner.businessID)/members",
            ["email": "desk@example.com", "password": "password123", "role": "agent"], token: token)
        #expect(member.status == 201)
        let agent = try await stack.call(.POST, "/auth/login", ["email": "desk@example.com", "password": "password123"])
        let agentToken = try #require(agent.data["token"]?.stringValue)
        #expect(try await stack.call(.GET, "/leads/\(leadID)", token: agentToken).status == 200)
        #expect(try await stack.call(.DELETE, "/leads/\(leadID)", token: agentToken).status == 403)
        #expect(try await stack.call(.DELETE, "/leads/\(leadID)", token: token).status == 200)
        #expect(try await stack.call(.GET, "/leads/\(leadID)", token: token).status == 404)
        #expect(try await stack.call(.POST, "/leads", ["phone": "+15552013344"], token: token).status == 201)
    }

    @Test(arguments: Engine.allCases)
    func appointmentLifeWithReminders(engine: Engine) async throws {
        guard let world = try await Self.world(engine) else { return }
        defer { world.stop() }
        let stack = world.stack
        let owner = try await stack.register("owner@example.com", business: "Ana Plumbing")
        let token = owner.token
        let settings = try await stack.call(
            .PUT, "/businesses/\(owner.businessID)",
            [
                "settings": [
                    "phone_number": "+15557770000", "timezone": "America/New_York", "business_hours": Self.allWeek,
                ]
            ], token: token)
        #expect(settings.status == 200)
        let lead = try await stack.call(
            .POST, "/leads", ["name": "Ana", "phone": "+15552013344", "email": "ana@example.com"],
            token: token)
        let leadID = try #require(lead.data["id"]?.stringValue)

        let tuesday10 = Self.next(weekday: 3, hour: 10)
        let booked = try await stack.call(
            .POST, "/appointments",
            [
                "lead_id": .string(leadID), "scheduled_date": .string(Timestamp.format(tuesday10)), "duration": 60,
                "type": "repair", "value": 150.5,
            ], token: token)
        #expect(booked.status == 201)
        #expect(booked.data["status"] == "scheduled" && booked.data["value"] == 150.5 && booked.data["duration"] == 60)
        let id = try #require(booked.data["id"]?.stringValue)

        let overlap = try await stack.call(
            .POST, "/appointments",
            [
                "lead_id": .string(leadID), "scheduled_date": .string(Timestamp.format(tuesday10.addingTimeInterval(900))),
            ], token: token)
        #expect(overlap.status == 409 && overlap.body["details"]?["conflicting_id"]?.stringValue == id)
        let backToBack = try await stack.call(
            .POST, "/appointments",
            [
                "lead_id": .string(leadID), "scheduled_date": .string(Timestamp.format(tuesday10.addingTimeInterval(3600))),
            ], token: token)
        #expect(backToBack.status == 201)
        let early = try await stack.call(
            .POST, "/appointments",
            [
                "lead_id": .string(leadID), "scheduled_date": .string(Timestamp.format(Self.next(weekday: 4, hour: 7))),
            ], token: token)
        #expect(early.status == 422 && early.body["details"]?["scheduled_date"] != nil)
        let past = try await stack.call(
            .POST, "/appointments",
            [
                "lead_id": .string(leadID), "scheduled_date": "2020-01-01T10:00:00Z", "duration": 900, "value": -3,
            ], token: token)
        #expect(Set(past.body["details"]?.objectValue?.keys.map { $0 } ?? []) == ["scheduled_date", "duration", "value"])

        // Reschedule, confirm, and the list filters.
        let wednesday14 = Self.next(weekday: 4, hour: 14)
        let moved = try await stack.call(
            .PUT, "/appointments/\(id)", ["scheduled_date": .string(Timestamp.format(wednesday14))],
            token: token)
        #expect(moved.status == 200 && moved.data["scheduled_date"] == .string(Timestamp.format(wednesday14)))
        let confirmed = try await stack.call(.PUT, "/appointments/\(id)", ["status": "confirmed"], token: token)
        #expect(confirmed.data["status"] == "confirmed")
        let window = "start_date=\(Timestamp.format(wednesday14))&end_date=\(Timestamp.format(wednesday14.addingTimeInterval(60)))"
        let filtered = try await stack.call(.GET, "/appointments?\(window)", token: token)
        #expect(filtered.data["appointments"]?.arrayValue?.map { $0["id"] } == [.string(id)])
        #expect(try await stack.call(.GET, "/appointments?status=confirmed", token: token).data["pagination"]?["total"] == 1)
        let ordered = try await stack.call(.GET, "/appointments", token: token)
        let dates = ordered.data["appointments"]?.arrayValue?.compactMap { $0["scheduled_date"]?.stringValue } ?? []
        #expect(dates == dates.sorted() && dates.count == 2)
        #expect(try await stack.call(.GET, "/appointments?start_date=yesterday", token: token).status == 422)

        // Remind by SMS: the fake Telnyx checks the key and the JSON.
        let sms = try await stack.call(.POST, "/appointments/\(id)/remind", ["method": "sms"], token: token)
        #expect(sms.status == 200)
        #expect(sms.data["appointment_id"] == .string(id) && sms.data["method"] == "sms" && sms.data["status"] == "sent")
        let text = try #require(world.texts(to: "+15552013344").last)
        #expect(text.authorization == "Bearer \(world.telnyx.apiKey)")
        #expect(text.body["from"] == "+15557770000")
        let reminderText = text.body["text"]?.stringValue ?? ""
        #expect(reminderText.contains("Ana Plumbing") && reminderText.contains("2:00 PM"))

        // Remind by email: a real SMTP server gets it.
        let email = try await stack.call(
            .POST, "/appointments/\(id)/remind", ["method": "email", "message": "See you Wednesday!"],
            token: token)
        #expect(email.status == 200 && email.data["method"] == "email")
        let raw = try await world.smtp.waitForMessage(containing: "See you Wednesday!")
        #expect(raw.contains("To: ana@example.com"))

        // Telnyx fails once, then accepts: one text, delivered on the retry.
        let before = world.texts(to: "+15552013344").count
        world.telnyx.enqueue(.init(status: 500, body: ["errors": [["code": "10007", "title": "Unexpected error"]]]))
        let retried = try await stack.call(.POST, "/appointments/\(id)/remind", ["method": "sms", "message": "Retry me"], token: token)
        #expect(retried.status == 200 && retried.data["status"] == "sent")
        #expect(world.texts(to: "+15552013344").count == before + 2)

        // Telnyx refuses for good: the client is told, and the reminder is kept as failed.
        world.telnyx.enqueue(.init(status: 400, body: ["errors": [["code": "40300", "title": "Blocked"]]]))
        let refused = try await stack.call(.POST, "/appointments/\(id)/remind", ["method": "sms", "message": "Blocked"], token: token)
        #expect(refused.status == 502 && refused.code == "EXTERNAL_SERVICE_ERROR")
        let crm = try await DatabaseFactory.open(url: stack.databases[.crm] ?? "sqlite://\(stack.directory)/crm.sqlite", logLabel: "t")
        let statuses = try await crm.query(
            "SELECT status FROM reminders WHERE appointment_id = $1 AND kind = 'manual' ORDER BY created_at",
            [.text(id)]
        ).compactMap { $0.string("status") }
        #expect(statuses == ["sent", "sent", "sent", "failed"])
        await crm.close()

        // Complete it; cancel the other (twice: harmless).
        let completed = try await stack.call(.PUT, "/appointments/\(id)", ["status": "completed", "value": 200], token: token)
        #expect(completed.data["status"] == "completed" && completed.data["value"] == 200)
        let otherID = try #require(backToBack.data["id"]?.stringValue)
        let cancelled = try await stack.call(.DELETE, "/appointments/\(otherID)", token: token)
        #expect(cancelled.status == 200 && cancelled.data["status"] == "cancelled")
        #expect(try await stack.call(.DELETE, "/appointments/\(otherID)", token: token).data["status"] == "cancelled")

        // Another business: its ids are 404s, and it cannot book with our lead.
        let rival = try await stack.register("rival@example.com", business: "Rival")
        for (method, path, body) in [
            (HTTPMethodName.GET, "/appointments/\(id)", nil as JSONValue?),
            (.PUT, "/appointments/\(id)", ["notes": "x"]), (.DELETE, "/appointments/\(id)", nil),
            (.POST, "/appointments/\(id)/remind", ["method": "sms"]),
        ] {
            let reply = try await stack.call(method, path, body, token: rival.token)
            #expect(reply.status == 404 && reply.code == "APPOINTMENT_NOT_FOUND", "\(method) \(path)")
        }
        let steal = try await stack.call(
            .POST, "/appointments",
            [
                "lead_id": .string(leadID), "scheduled_date": .string(Timestamp.format(Self.next(weekday: 5, hour: 10))),
            ], token: rival.token)
        #expect(steal.status == 404 && steal.code == "LEAD_NOT_FOUND")

        // messaging down: the client is told, and the attempt is kept.
        stack.kill(.messaging)
        let down = try await stack.call(.POST, "/appointments/\(otherID)/remind", ["method": "email"], token: token)
        #expect(down.status == 503 && down.code == "SERVICE_UNAVAILABLE")
        let db = try await DatabaseFactory.open(url: stack.databases[.crm] ?? "sqlite://\(stack.directory)/crm.sqlite", logLabel: "t")
        #expect(
            try await db.count(
                "SELECT COUNT(*) AS n FROM reminders WHERE appointment_id = $1 AND status = 'failed'",
                [.text(otherID)]) == 1)
        await db.close()
    }

    @Test(arguments: Engine.allCases)
    func twentyConcurrentBookingsOfOneSlot(engine: Engine) async throws {
        guard let databases = try await StackTests.databases(engine) else { return }
        let stack = try await Stack(services: [.gateway, .identity, .crm], databases: databases)
        defer { stack.stop() }
        let owner = try await stack.register("busy@example.com")
        let lead = try await stack.call(.POST, "/leads", ["phone": "+15552010000"], token: owner.token)
        let leadID = try #require(lead.data["id"]?.stringValue)
        let slot = Timestamp.format(Self.next(weekday: 2, hour: 11))
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await stack.call(
                        .POST, "/appointments",
                        [
                            "lead_id": .string(leadID), "scheduled_date": .string(slot), "duration": JSONValue(30 + index),
                        ], token: owner.token
                    ).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 201 }.count == 1)
        #expect(statuses.filter { $0 == 409 }.count == 19)
        #expect(try await stack.call(.GET, "/appointments", token: owner.token).data["pagination"]?["total"] == 1)
    }

    /// What voice-agent and analytics ask crm, through their typed client against the real crm: a
    /// booking under a reference happens once, a taken slot is a typed conflict, and the stats add up
    /// to what the lists show.
    @Test(arguments: Engine.allCases)
    func bookingAndStatsForOtherServices(engine: Engine) async throws {
        guard let databases = try await StackTests.databases(engine) else { return }
        let stack = try await Stack(services: [.gateway, .identity, .crm], databases: databases)
        defer { stack.stop() }
        let owner = try await stack.register("stats@example.com")
        let lead = try await stack.call(.POST, "/leads", ["phone": "+15552010001", "source": "call"], token: owner.token)
        let leadID = try #require(lead.data["id"]?.stringValue)
        let qualified = try await stack.call(
            .POST, "/leads/\(leadID)/qualify", ["criteria": ["budget": "high", "timeline": "immediate", "decision_maker": true]],
            token: owner.token)
        #expect(qualified.status == 200)
        let crm = CRMClient.live(InternalClient(config: try ServiceConfig(service: .voiceAgent, environment: stack.environment)), as: .voiceAgent)
        let slot = Self.next(weekday: 3, hour: 10)
        let booking = CRMClient.Booking(
            businessID: owner.businessID, leadID: leadID, scheduledAt: slot, duration: 45, notes: "from a call", reference: "call_1")
        let first = try await crm.book(booking, "r1")
        #expect(try await crm.book(booking, "r2") == first)  // the same reference: the same appointment
        var other = booking
        other.reference = "call_2"
        do {
            _ = try await crm.book(other, "r3")
            Issue.record("a taken slot was booked")
        } catch ServiceCallError.conflict(_, let details) {
            #expect(details["conflicting_id"] == .string(first.id))
        }
        other.leadID = "lead_01J00000000000000000000000"
        await #expect(throws: ServiceCallError.notFound(.leadNotFound)) { try await crm.book(other, "r4") }
        let listed = try await stack.call(.GET, "/appointments", token: owner.token)
        #expect(listed.data["appointments"]?.arrayValue?.map { $0["id"] } == [.string(first.id)])
        #expect(listed.data["appointments"]?.arrayValue?.first?["lead_id"] == .string(leadID))
        _ = try await stack.call(.PUT, "/appointments/\(first.id)", ["status": "completed", "value": 120.5], token: owner.token)

        let now = Date()
        let month = slot.addingTimeInterval(-40 * 86400)..<slot.addingTimeInterval(1)
        let stats = try await crm.stats(
            .init(
                businessID: owner.businessID, period: nil, today: now.addingTimeInterval(-60)..<now.addingTimeInterval(60),
                thisMonth: month, lastMonth: month.lowerBound.addingTimeInterval(-86400)..<month.lowerBound), "r5")
        // 75 is in the 60-79 band.
        #expect(stats.leads == [.init(status: "qualified", source: "call", band: 3, count: 1, scoreSum: 75)])
        #expect(stats.leadsCreatedToday == 1)
        #expect(stats.appointments == [.init(status: "completed", count: 1, valueCents: 12050)])
        #expect(stats.appointmentsToday == 0)
        #expect(stats.revenueThisMonthCents == 12050 && stats.revenueLastMonthCents == 0)
        // Another business sees none of it.
        let stranger = try await stack.register("stranger@example.com")
        let theirs = try await crm.stats(
            .init(businessID: stranger.businessID, period: nil, today: now..<now, thisMonth: month, lastMonth: month), "r6")
        #expect(theirs.leads.isEmpty && theirs.appointments.isEmpty && theirs.revenueThisMonthCents == 0)
    }

    @Test func businessHoursFollowDaylightSaving() async throws {
        let stack = try await Stack(services: [.gateway, .identity, .crm])
        defer { stack.stop() }
        let owner = try await stack.register("dst@example.com")
        _ = try await stack.call(
            .PUT, "/businesses/\(owner.businessID)",
            [
                "settings": [
                    "timezone": "America/New_York", "business_hours": ["sunday": ["open": "09:00", "close": "17:00"]],
                ]
            ], token: owner.token)
        let lead = try await stack.call(.POST, "/leads", ["phone": "+15552010001"], token: owner.token)
        let leadID = try #require(lead.data["id"]?.stringValue)
        let zone = TimeZone(identifier: "America/New_York")!
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        // The next change of clocks, and the Sunday it happens on and the one after it.
        let change = try #require(zone.nextDaylightSavingTimeTransition(after: Date().addingTimeInterval(86400)))
        let changeDay = calendar.startOfDay(for: change)
        #expect(calendar.component(.weekday, from: changeDay) == 1)
        for sunday in [changeDay, calendar.date(byAdding: .day, value: 7, to: changeDay)!] {
            let nine = calendar.date(bySettingHour: 9, minute: 0, second: 0, of: sunday)!
            let eightThirty = calendar.date(bySettingHour: 8, minute: 30, second: 0, of: sunday)!
            let accepted = try await stack.call(
                .POST, "/appointments",
                [
                    "lead_id": .string(leadID), "scheduled_date": .string(Timestamp.format(nine)),
                ], token: owner.token)
            #expect(accepted.status == 201, "09:00 on \(sunday)")
            let refused = try await stack.call(
                .POST, "/appointments",
                [
                    "lead_id": .string(leadID), "scheduled_date": .string(Timestamp.format(eightThirty)), "duration": 15,
                ], token: owner.token)
            #expect(refused.status == 422, "08:30 on \(sunday)")
            // 09:00 written with the offset of the other season is 08:00 or 10:00 local: one of them is refused.
            let otherOffset = zone.isDaylightSavingTime(for: nine) ? "-05:00" : "-04:00"
            let components = calendar.dateComponents([.year, .month, .day], from: sunday)
            let wrong = String(format: "%04d-%02d-%02dT09:00:00%@", components.year!, components.month!, components.day!, otherOffset)
            let shifted = try await stack.call(
                .POST, "/appointments",
                [
                    "lead_id": .string(leadID), "scheduled_date": .string(wrong), "duration": 15,
                ], token: owner.token)
            #expect(Timestamp.parse(wrong) != nine)
            #expect(shifted.status != 201 || zone.isDaylightSavingTime(for: nine), "\(wrong)")
        }
    }

    @Test(arguments: Engine.allCases)
    func automaticRemindersAreSentOnceAcrossRestartsAndReplicas(engine: Engine) async throws {
        guard let world = try await Self.world(engine, environment: ["REMINDER_POLL_SECONDS": "1"]) else { return }
        defer { world.stop() }
        let stack = world.stack
        func business(_ email: String, phone: String) async throws -> (token: String, leadID: String) {
            let account = try await stack.register(email)
            _ = try await stack.call(
                .PUT, "/businesses/\(account.businessID)",
                [
                    "settings": [
                        "reminders": ["enabled": true, "hours_before": [1]]
                    ]
                ], token: account.token)
            let lead = try await stack.call(.POST, "/leads", ["phone": .string(phone)], token: account.token)
            return (account.token, try #require(lead.data["id"]?.stringValue))
        }
        let kept = try await business("kept@example.com", phone: "+15552011111")
        let dropped = try await business("dropped@example.com", phone: "+15552012222")
        // Due six seconds from now: one hour before appointments at now + 1 h + 6 s.
        let start = Timestamp.format(Date().addingTimeInterval(3600 + 6))
        let booking = try await stack.call(
            .POST, "/appointments", ["lead_id": .string(kept.leadID), "scheduled_date": .string(start)],
            token: kept.token)
        #expect(booking.status == 201)
        let doomed = try await stack.call(
            .POST, "/appointments", ["lead_id": .string(dropped.leadID), "scheduled_date": .string(start)],
            token: dropped.token)
        let doomedID = try #require(doomed.data["id"]?.stringValue)
        #expect(try await stack.call(.DELETE, "/appointments/\(doomedID)", token: dropped.token).status == 200)

        // crm restarts before the reminder is due, and a second crm works the same schedule.
        try await stack.restart(.crm)
        try await stack.startReplica(.crm)
        let deadline = Date().addingTimeInterval(30)
        while world.texts(to: "+15552011111").isEmpty && Date() < deadline { try await Task.sleep(for: .milliseconds(200)) }
        let first = try #require(world.texts(to: "+15552011111").first)
        #expect(first.at >= Date().addingTimeInterval(-30))
        #expect(first.body["text"]?.stringValue?.contains("Reminder") == true)

        // Restarted again after sending: nothing more goes out.
        try await stack.restart(.crm)
        try await Task.sleep(for: .seconds(4))
        #expect(world.texts(to: "+15552011111").count == 1)
        #expect(world.texts(to: "+15552012222").isEmpty)
    }
}
