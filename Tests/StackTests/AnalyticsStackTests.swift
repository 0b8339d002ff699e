import CloudGreetCore
import Foundation
import TestSupport
import Testing

/// analytics through the gateway against the real owners: every figure equals what the lists show.
@Suite(.serialized) struct AnalyticsStackTests {
    typealias Engine = StackTests.Engine

    /// Every item of a list endpoint (all pages).
    static func all(_ stack: Stack, _ path: String, _ plural: String, token: String) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var page = 1
        while true {
            let separator = path.contains("?") ? "&" : "?"
            let reply = try await stack.call(.GET, "\(path)\(separator)limit=100&page=\(page)", token: token)
            let batch = reply.data[plural]?.arrayValue ?? []
            items += batch
            if batch.count < 100 { return items }
            page += 1
        }
    }

    static func band(_ score: Int) -> String { ["0-19", "20-39", "40-59", "60-79", "80-100"][min(score / 20, 4)] }

    @Test(arguments: Engine.allCases)
    func everyFigureEqualsTheLists(engine: Engine) async throws {
        guard let world = try await VoiceStackTests.world(engine) else { return }
        defer { world.stop() }
        let (stack, token) = (world.stack, world.owner.token)

        // Leads: scored at different levels, some converted.
        let criteria: [JSONValue] = [
            ["budget": "high", "timeline": "immediate", "decision_maker": true, "urgency": "high"],
            ["budget": "low", "timeline": "exploring", "decision_maker": false],
            ["budget": "medium", "timeline": "this_month", "decision_maker": true],
        ]
        var leadIDs: [String] = []
        for index in 0..<6 {
            let source = ["web", "sms", "email"][index % 3]
            let lead = try await stack.call(
                .POST, "/leads", ["phone": .string("+1555201\(String(format: "%04d", index))"), "source": .string(source)], token: token)
            let id = try #require(lead.data["id"]?.stringValue)
            leadIDs.append(id)
            if index < 3 { _ = try await stack.call(.POST, "/leads/\(id)/qualify", ["criteria": criteria[index]], token: token) }
            if index == 4 { _ = try await stack.call(.PUT, "/leads/\(id)", ["status": "converted"], token: token) }
        }
        // Appointments: completed with values, cancelled, scheduled, on different days.
        var slots: [Date] = []
        var newYork = Calendar(identifier: .gregorian)
        newYork.timeZone = TimeZone(identifier: "America/New_York") ?? .gmt
        for (index, leadID) in leadIDs.prefix(5).enumerated() {
            let day = Date().addingTimeInterval(Double(2 + index) * 86400)
            let slot = try #require(newYork.date(bySettingHour: 10, minute: 0, second: 0, of: day))
            slots.append(slot)
            let created = try await stack.call(
                .POST, "/appointments", ["lead_id": .string(leadID), "scheduled_date": .string(Timestamp.format(slot))], token: token)
            let id = try #require(created.data["id"]?.stringValue)
            switch index {
            case 0, 1:
                _ = try await stack.call(
                    .PUT, "/appointments/\(id)", ["status": "completed", "value": JSONValue(Double(index) * 100 + 99.5)], token: token)
            case 2: _ = try await stack.call(.DELETE, "/appointments/\(id)", token: token)
            default: break
            }
        }
        // Calls: one the AI completed, two missed.
        let agent = try await world.startedAgent()
        _ = try await VoiceStackTests().finishedAICall(world, "v3:analytics-ai", from: "+15552220031")
        _ = try await stack.call(.POST, "/agents/\(agent)/stop", token: token)
        for (index, phone) in ["+15552220032", "+15552220033"].enumerated() {
            _ = try await world.telnyxWebhook(world.callEvent("call.initiated", "v3:analytics-\(index)", from: phone))
            _ = try await world.telnyxWebhook(world.callEvent("call.hangup", "v3:analytics-\(index)", from: phone))
        }
        try await world.eventually("the calls") { try await world.calls().filter { $0["status"] == "missed" }.count == 2 }
        // Messages.
        #expect(try await stack.call(.POST, "/sms", ["phone": "+15552220040", "message": "Hi"], token: token).status == 201)
        #expect(
            try await stack.call(.POST, "/emails", ["to": "a@example.com", "subject": "Hello", "content": "Hi"], token: token).status == 201)

        func check(_ query: String, appointmentsQuery: String) async throws {
            let overview = try await stack.call(.GET, "/analytics/overview?\(query)", token: token)
            #expect(overview.status == 200, "\(overview.text)")
            let data = overview.data
            let leads = try await Self.all(stack, "/leads", "leads", token: token)
            let appointments = try await Self.all(stack, "/appointments?\(appointmentsQuery)", "appointments", token: token)
            let calls = try await Self.all(stack, "/calls?\(query)", "calls", token: token)
            let sms = try await Self.all(stack, "/sms", "sms", token: token)
            let emails = try await Self.all(stack, "/emails", "emails", token: token)

            #expect(data["leads"]?["total"] == JSONValue(leads.count))
            #expect(data["leads"]?["new_today"] == JSONValue(leads.count))  // all made just now
            #expect(data["leads"]?["qualified"] == JSONValue(leads.filter { $0["status"] == "qualified" }.count))
            #expect(data["leads"]?["converted"] == JSONValue(leads.filter { $0["status"] == "converted" }.count))
            #expect(data["appointments"]?["total"] == JSONValue(appointments.count))
            #expect(data["appointments"]?["completed"] == JSONValue(appointments.filter { $0["status"] == "completed" }.count))
            #expect(data["appointments"]?["cancelled"] == JSONValue(appointments.filter { $0["status"] == "cancelled" }.count))
            #expect(data["appointments"]?["scheduled_today"] == 0)  // all at least two days ahead
            let revenue = appointments.filter { $0["status"] == "completed" }.compactMap { $0["value"]?.doubleValue }.reduce(0, +)
            #expect(data["revenue"]?["total"]?.doubleValue == revenue)
            #expect(data["calls"]?["total"] == JSONValue(calls.count) && data["calls"]?["today"] == JSONValue(calls.count))
            let completed = calls.filter { $0["status"] == "completed" }
            let seconds = completed.compactMap { $0["duration"]?.intValue }.reduce(0, +)
            #expect(data["calls"]?["average_duration"] == JSONValue(completed.isEmpty ? 0 : seconds / completed.count))
            #expect(data["calls"]?["success_rate"]?.doubleValue == (calls.isEmpty ? 0 : Figures.ratio(completed.count, calls.count)))
            #expect(data["messages"]?["sms_outbound"] == JSONValue(sms.filter { $0["direction"] == "outbound" }.count))
            #expect(data["messages"]?["emails"] == JSONValue(emails.count))

            let scored = try await stack.call(.GET, "/analytics/leads/scored?\(query)", token: token).data
            let scores = leads.compactMap { $0["qualification_score"]?.intValue }
            #expect(scored["total_leads"] == JSONValue(leads.count) && scored["total_scored"] == JSONValue(scores.count))
            #expect(scored["average_score"]?.doubleValue == (scores.isEmpty ? 0 : Figures.average(scores.reduce(0, +), scores.count)))
            for label in ["0-19", "20-39", "40-59", "60-79", "80-100"] {
                #expect(scored["distribution"]?[label] == JSONValue(scores.filter { Self.band($0) == label }.count), "\(label)")
            }
            for source in ["call", "sms", "email", "web"] {
                let matching = leads.filter { $0["source"] == .string(source) }
                let sourceScores = matching.compactMap { $0["qualification_score"]?.intValue }
                #expect(scored["by_source"]?[source]?["count"] == JSONValue(matching.count), "\(source)")
                let average: JSONValue = sourceScores.isEmpty ? .null : .number(Figures.average(sourceScores.reduce(0, +), sourceScores.count))
                #expect(scored["by_source"]?[source]?["average_score"] == average, "\(source)")
            }
            #expect(scored["by_status"]?["converted"]?["count"] == JSONValue(leads.filter { $0["status"] == "converted" }.count))
            #expect(
                scored["conversion_rate"]?.doubleValue
                    == Figures.ratio(leads.filter { $0["status"] == "converted" }.count, leads.count))
        }
        try await check("", appointmentsQuery: "")
        // A range that ends between the second and third appointment: leads and calls (made now)
        // are all in it, appointments only the first two.
        let start = Timestamp.format(Date().addingTimeInterval(-3600))
        let end = Timestamp.format(slots[1].addingTimeInterval(3600))
        try await check("start_date=\(start)&end_date=\(end)", appointmentsQuery: "start_date=\(start)&end_date=\(end)")
        let narrow = try await stack.call(.GET, "/analytics/overview?start_date=\(start)&end_date=\(end)", token: token).data
        #expect(narrow["appointments"]?["total"] == 2 && narrow["revenue"]?["total"] == 299)
    }
}

extension AnalyticsStackTests {
    /// The same instants, seen from Tokyo and Los Angeles: "today" and "this month" are each
    /// business's own, with boundaries at local midnight.
    @Test func todayAndThisMonthAreTheBusinesssOwn() async throws {
        let stack = try await Stack(environment: ["ANALYTICS_CACHE_SECONDS": "0"])
        defer { stack.stop() }
        let now = Date()
        func calendar(_ zone: String) -> Calendar {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: zone) ?? .gmt
            return calendar
        }
        let (tokyo, losAngeles) = (calendar("Asia/Tokyo"), calendar("America/Los_Angeles"))
        func endOfToday(_ calendar: Calendar) -> Date { calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: now)) ?? now }
        // Between the two local midnights it is still today in one city and already tomorrow in the other.
        let earlier = min(endOfToday(tokyo), endOfToday(losAngeles))
        let inBetween = earlier.addingTimeInterval(1800)
        let todayHere = now.addingTimeInterval(120)
        // Either side of Tokyo's next month start: the same month in Los Angeles either way. After it
        // by 40 minutes, not 30: on Tokyo's last day of a month its next midnight is that start, and
        // the appointment would overlap the one `inBetween`.
        let tokyoMonthEnd = try #require(tokyo.dateInterval(of: .month, for: now)?.end)
        let beforeMonthEnd = tokyoMonthEnd.addingTimeInterval(-1800)
        let afterMonthEnd = tokyoMonthEnd.addingTimeInterval(2400)
        // Close to Tokyo's month end there is no "before" to book apart from `todayHere`: nothing to test then.
        guard beforeMonthEnd > now.addingTimeInterval(600) else { return }

        var overviews: [String: JSONValue] = [:]
        for (zone, email) in [("Asia/Tokyo", "tokyo@example.com"), ("America/Los_Angeles", "la@example.com")] {
            let owner = try await stack.register(email, business: zone)
            _ = try await stack.call(.PUT, "/businesses/\(owner.businessID)", ["settings": ["timezone": .string(zone)]], token: owner.token)
            for (index, (slot, value)) in [(todayHere, 0.0), (inBetween, 0), (beforeMonthEnd, 10), (afterMonthEnd, 20)].enumerated() {
                let lead = try await stack.call(.POST, "/leads", ["phone": .string("+1555301000\(index)")], token: owner.token)
                let created = try await stack.call(
                    .POST, "/appointments",
                    ["lead_id": lead.data["id"] ?? nil, "scheduled_date": .string(Timestamp.format(slot)), "duration": 5], token: owner.token)
                let id = try #require(created.data["id"]?.stringValue, "\(created.text)")
                if value > 0 {
                    _ = try await stack.call(.PUT, "/appointments/\(id)", ["status": "completed", "value": .number(value)], token: owner.token)
                }
            }
            overviews[zone] = try await stack.call(.GET, "/analytics/overview", token: owner.token).data
        }
        let slots = [(todayHere, 0.0), (inBetween, 0), (beforeMonthEnd, 10), (afterMonthEnd, 20)]
        for (zone, calendar) in [("Asia/Tokyo", tokyo), ("America/Los_Angeles", losAngeles)] {
            let today = slots.filter { calendar.isDate($0.0, inSameDayAs: now) }.count
            let month = slots.filter { calendar.isDate($0.0, equalTo: now, toGranularity: .month) }.map(\.1).reduce(0, +)
            #expect(overviews[zone]?["appointments"]?["scheduled_today"] == JSONValue(today), "\(zone)")
            #expect(overviews[zone]?["revenue"]?["this_month"]?.doubleValue == month, "\(zone)")
        }
        // The instant between the two midnights counts as today in exactly one of them; the month
        // boundary in Tokyo puts the 20 into Tokyo's next month but Los Angeles's this month.
        #expect(overviews["Asia/Tokyo"]?["appointments"]?["scheduled_today"] != overviews["America/Los_Angeles"]?["appointments"]?["scheduled_today"])
        if losAngeles.isDate(afterMonthEnd, equalTo: now, toGranularity: .month) {  // not in the hours LA's month lags behind
            #expect(overviews["Asia/Tokyo"]?["revenue"]?["this_month"] == 10)
            #expect(overviews["America/Los_Angeles"]?["revenue"]?["this_month"] == 30)
        }
        #expect(overviews["Asia/Tokyo"]?["revenue"]?["total"] == 30 && overviews["Asia/Tokyo"]?["revenue"]?["growth_rate"] == .null)
        #expect(overviews["Asia/Tokyo"]?["period"]?["timezone"] == "Asia/Tokyo")
    }

    @Test func anOwnerDownIsNamedCachedAnswersAreFreshAndRolesAndTenantsHold() async throws {
        let stack = try await Stack(environment: ["ANALYTICS_CACHE_SECONDS": "1"])
        defer { stack.stop() }
        let owner = try await stack.register("cache@example.com")
        func leads() async throws -> JSONValue? {
            try await stack.call(.GET, "/analytics/overview", token: owner.token).data["leads"]?["total"]
        }
        #expect(try await leads() == 0)
        _ = try await stack.call(.POST, "/leads", ["phone": "+15553010001"], token: owner.token)
        // Within a second the cached answer may be served; after it, never.
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await leads() == 1)

        stack.kill(.crm)
        try await Task.sleep(for: .milliseconds(1100))  // past the cached answer
        let down = try await stack.call(.GET, "/analytics/overview", token: owner.token)
        #expect(down.status == 503 && down.code == "SERVICE_UNAVAILABLE" && down.body["details"]?["unavailable"] == ["crm"])
        #expect(try await stack.call(.GET, "/analytics/leads/scored", token: owner.token).body["details"]?["unavailable"] == ["crm"])
        try stack.start(.crm)
        try await TestHTTP.waitUntilUp(stack.url(.crm) + "/health")
        try await Task.sleep(for: .milliseconds(1100))  // the breaker's cool-down after crm was seen down
        var back = try await stack.call(.GET, "/analytics/overview", token: owner.token)
        for _ in 0..<20 where back.status != 200 {
            try await Task.sleep(for: .milliseconds(500))
            back = try await stack.call(.GET, "/analytics/overview", token: owner.token)
        }
        #expect(back.status == 200 && back.data["leads"]?["total"] == 1)

        // The parts that answered while crm was down were kept: voice-agent and messaging were asked once.
        let cached = try await Stack(environment: ["ANALYTICS_CACHE_SECONDS": "60"])
        defer { cached.stop() }
        let other = try await cached.register("kept@example.com")
        cached.kill(.crm)
        #expect(try await cached.call(.GET, "/analytics/overview", token: other.token).status == 503)
        try cached.start(.crm)
        try await TestHTTP.waitUntilUp(cached.url(.crm) + "/health")
        var answered = try await cached.call(.GET, "/analytics/overview", token: other.token)
        for _ in 0..<20 where answered.status != 200 {
            try await Task.sleep(for: .milliseconds(500))
            answered = try await cached.call(.GET, "/analytics/overview", token: other.token)
        }
        #expect(answered.status == 200)
        for service in [ServiceName.voiceAgent, .messaging] {
            let metrics = try await TestHTTP.request(.GET, cached.url(service) + "/metrics").text
            #expect(metrics.contains(#"route="/internal/stats",status="200"} 1"#), "\(service)")
        }

        // The agent role is refused; another business sees only its own figures.
        let key = try await stack.call(.POST, "/businesses/\(owner.businessID)/api-keys", ["name": "bot", "role": "agent"], token: owner.token)
        let agentKey = try #require(key.data["key"]?.stringValue)
        #expect(try await stack.call(.GET, "/analytics/overview", headers: [("X-API-Key", agentKey)]).status == 403)
        let stranger = try await stack.register("other@example.com", business: "Other Co")
        #expect(try await stack.call(.GET, "/analytics/overview", token: stranger.token).data["leads"]?["total"] == 0)
        let foreign = try await stack.call(.GET, "/analytics/overview?business_id=\(owner.businessID)", token: stranger.token)
        #expect(foreign.status == 403)
        #expect(try await stack.call(.GET, "/analytics/overview?start_date=yesterday", token: owner.token).status == 422)
        // An end day before the start day, by more than a day or by exactly one; the same day is one day.
        for (start, end, status) in [("2026-12-02", "2026-11-30", 422), ("2026-12-02", "2026-12-01", 422), ("2026-12-02", "2026-12-02", 200)] {
            let answer = try await stack.call(.GET, "/analytics/overview?start_date=\(start)&end_date=\(end)", token: owner.token)
            #expect(answer.status == status, "\(start)..\(end)")
        }
    }
}

/// The pure arithmetic, reused by the stack test as the definition of rounding.
enum Figures {
    static func ratio(_ part: Int, _ whole: Int) -> Double { (Double(part) / Double(whole) * 10_000).rounded() / 10_000 }
    static func average(_ sum: Int, _ count: Int) -> Double { (Double(sum) / Double(count) * 100).rounded() / 100 }
}
