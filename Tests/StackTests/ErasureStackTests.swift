import CloudGreetCore
import Foundation
import Persistence
import TestSupport
import Testing

/// `DELETE /leads/{id}` erasing a person everywhere, across the real processes: crm, voice-agent's
/// calls and messaging's texts and emails, with messaging down during the erase.
@Suite(.serialized) struct ErasureStackTests {
    typealias Engine = StackTests.Engine

    static let (name, phone, email) = ("Zelda Quimby", "+15552229876", "zelda.quimby@example.com")
    /// Words of the transcript `VoiceStackTests.World.analyzed` sends, and of a text the person sent.
    static let (transcript, said) = ("I need a plumber on Tuesday", "Zelda here, my basement is flooding")

    @Test(arguments: Engine.allCases)
    func aPersonIsErasedEverywhereAndFiguresStay(engine: Engine) async throws {
        guard let world = try await VoiceStackTests.world(engine, environment: ["ERASURE_POLL_SECONDS": "0.2", "ANALYTICS_CACHE_SECONDS": "0"]) else {
            return
        }
        defer { world.stop() }
        let (stack, token) = (world.stack, world.owner.token)

        // The business has a webhook endpoint, so events about the person are kept in messaging.
        let receiver = WebhookReceiver()
        await receiver.start()
        defer { receiver.stop() }
        let hook = try await stack.call(
            .POST, "/webhooks", ["url": .string(receiver.url), "events": .array(WebhookStackTests.allTypes.map(JSONValue.string))],
            token: token)
        #expect(hook.status == 201, "\(hook.text)")

        // A person who called (the AI booked a visit), texted in, was texted and emailed.
        _ = try await world.startedAgent()
        let (callID, retellID) = try await VoiceStackTests().finishedAICall(world, "v3:erase-1", from: Self.phone)
        let slot = CRMStackTests.next(weekday: 3, hour: 10)
        #expect(try await world.retellWebhook(world.analyzed(retellID, ourCallID: callID, appointment: slot)).status == 200)
        var appointmentID = ""
        try await world.eventually("the booked appointment") {
            appointmentID = try await world.calls().first?["appointment_id"]?.stringValue ?? ""
            if appointmentID.isEmpty {
                appointmentID = try await stack.call(.GET, "/calls/\(callID)", token: token).data["appointment_id"]?.stringValue ?? ""
            }
            return !appointmentID.isEmpty
        }
        let leadID = try #require(try await world.calls().first?["lead_id"]?.stringValue)
        let named = try await stack.call(.PUT, "/leads/\(leadID)", ["name": .string(Self.name), "email": .string(Self.email)], token: token)
        #expect(named.status == 200, "\(named.text)")
        let done = try await stack.call(
            .PUT, "/appointments/\(appointmentID)", ["status": "completed", "value": 180, "notes": "Ask for Zelda"], token: token)
        #expect(done.status == 200, "\(done.text)")
        let inbound = MessagingStackTests.Setup.inbound(from: Self.phone, text: Self.said)
        #expect(try await world.telnyxWebhook(inbound, path: "/sms/webhook").status == 200)
        try await world.eventually("the inbound text") { try await self.sms(stack, token).contains { $0["direction"] == "inbound" } }
        #expect(try await stack.call(.POST, "/sms", ["lead_id": .string(leadID), "message": "See you Tuesday, Zelda"], token: token).status == 201)
        #expect(
            try await stack.call(
                .POST, "/emails", ["lead_id": .string(leadID), "to": .string(Self.email), "subject": "Your visit", "content": "Hi Zelda"],
                token: token
            ).status == 201)
        let before = try await stack.call(.GET, "/analytics/overview", token: token).data
        #expect(before["revenue"]?["total"]?.doubleValue == 180)
        let personal = [
            Self.name, "Zelda", Self.phone, "2229876", Self.email, Self.transcript, Self.said, "retell.example", "telnyx.example", "basement",
        ]
        #expect(try await Self.everything(stack, token, callID: callID, appointmentID: appointmentID).contains("Zelda"))

        // Messaging is down: crm and voice-agent erase at once, messaging's part waits.
        stack.kill(.messaging)
        let erased = try await stack.call(.DELETE, "/leads/\(leadID)", token: token)
        #expect(erased.status == 200 && erased.data["deleted"] == true, "\(erased.text)")
        let erasure = try #require(erased.data["erasure"])
        #expect(erasure["status"] == "pending" && erasure["pending"] == ["messaging"], "\(erased.text)")
        #expect(try await stack.call(.GET, "/leads/\(leadID)", token: token).status == 404)
        let call = try await stack.call(.GET, "/calls/\(callID)", token: token).data
        #expect(call["phone"] == .null && call["transcript"] == .null && call["recording_url"] == .null && call["summary"] == .null)
        #expect(call["analysis"] == .null && call["status"] == "completed" && call["lead_id"] == .string(leadID))

        // A recording that arrives after the erasure is not kept.
        let recording = world.callEvent(
            "call.recording.saved", "v3:erase-1", from: Self.phone, payload: ["recording_urls": ["mp3": "https://telnyx.example/late.mp3"]])
        let lateID = try #require(try await world.telnyxWebhook(recording).data["event_id"]?.stringValue)
        let voice = try await Self.database(stack, .voiceAgent)
        try await world.eventually("the late recording worked") {
            try await voice.first("SELECT status FROM webhook_events WHERE id = $1", [.text(lateID)])?.string("status") == "done"
        }
        await voice.close()
        #expect(try await stack.call(.GET, "/calls/\(callID)", token: token).data["recording_url"] == .null)

        // Back up, messaging gets its part from crm's worker.
        try await stack.restart(.messaging)
        try await world.eventually("messaging's part", seconds: 30) {
            try await self.sms(stack, token).allSatisfy { $0["phone"] == .null && $0["message"] == .null }
        }
        let emails = try await stack.call(.GET, "/emails", token: token).data["emails"]?.arrayValue ?? []
        #expect(emails.count == 1 && emails.allSatisfy { $0["to"] == .null && $0["subject"] == .null && $0["content"] == .null })
        let everything = try await Self.everything(stack, token, callID: callID, appointmentID: appointmentID)
        for value in personal { #expect(!everything.contains(value), "\(value) is still served") }
        for query in ["search=Zelda", "search=2229876", "search=quimby"] {
            #expect(try await stack.call(.GET, "/leads?\(query)", token: token).data["pagination"]?["total"] == 0)
        }

        // The figures stay, but for the lead itself.
        var after = try await stack.call(.GET, "/analytics/overview", token: token).data
        #expect(after["leads"]?["total"] == 0)
        for key in ["appointments", "revenue", "calls", "messages"] { #expect(after[key] == before[key], "\(key)") }
        after = try await stack.call(.GET, "/appointments/\(appointmentID)", token: token).data
        #expect(after["status"] == "completed" && after["value"]?.doubleValue == 180 && after["notes"] == .null)

        // What is kept says who erased whom and when, and nothing about the person.
        let crm = try await Self.database(stack, .crm)
        let record = try #require(try await crm.first("SELECT * FROM erasures WHERE lead_id = $1", [.text(leadID)]))
        #expect(record.string("erased_by") == world.owner.userID && record.string("business_id") == world.owner.businessID)
        let parts = try await crm.query("SELECT * FROM erasure_parts WHERE lead_id = $1", [.text(leadID)])
        #expect(parts.count == 2 && parts.allSatisfy { $0.string("status") == "done" && $0.string("phone") == nil && $0.string("email") == nil })
        await crm.close()
        // No webhook payload or business event about the person is left with them in it.
        #expect(receiver.accepted.contains { $0.type == "sms.received" })  // they were delivered before
        for (service, query) in [
            (ServiceName.voiceAgent, "SELECT payload AS kept FROM webhook_events"), (.voiceAgent, "SELECT data AS kept FROM event_outbox"),
            (.messaging, "SELECT payload AS kept FROM webhook_events"), (.messaging, "SELECT data AS kept FROM outbound_events"),
            (.crm, "SELECT data AS kept FROM event_outbox"),
        ] {
            let db = try await Self.database(stack, service)
            let kept = try await db.query(query).compactMap { $0.string("kept") }.joined()
            await db.close()
            for value in personal { #expect(!kept.contains(value), "\(service.rawValue) keeps \(value): \(query)") }
        }

        // Erasing again is a 404; the person calling again is a new lead.
        #expect(try await stack.call(.DELETE, "/leads/\(leadID)", token: token).status == 404)
    }

    static func database(_ stack: Stack, _ service: ServiceName) async throws -> any Database {
        try await DatabaseFactory.open(url: stack.databases[service] ?? "sqlite://\(stack.directory)/\(service.rawValue).sqlite", logLabel: "t")
    }

    func sms(_ stack: Stack, _ token: String) async throws -> [JSONValue] {
        try await stack.call(.GET, "/sms", token: token).data["sms"]?.arrayValue ?? []
    }

    /// Every list and get that could show the person, as one text.
    static func everything(_ stack: Stack, _ token: String, callID: String, appointmentID: String) async throws -> String {
        var text = ""
        for path in ["/leads", "/calls", "/calls/\(callID)", "/sms", "/emails", "/appointments", "/appointments/\(appointmentID)"] {
            let reply = try await stack.call(.GET, path, token: token)
            #expect(reply.status == 200, "\(path): \(reply.text)")
            text += reply.text
        }
        return text
    }
}
