import CloudGreetCore
import Crypto
import Foundation
import TestSupport
import Testing

/// voice-agent through the gateway, with a local fake Telnyx (call control, messages) and a fake
/// Retell, both speaking their documented formats, and webhooks signed as each provider signs them.
@Suite(.serialized) struct VoiceStackTests {
    typealias Engine = StackTests.Engine
    static let businessNumber = "+15557770000"

    struct World {
        let stack: Stack
        let telnyx: FakeTelnyx
        let retell: FakeRetell
        let signer: Curve25519.Signing.PrivateKey
        let owner: Stack.Account

        func stop() {
            stack.stop()
            telnyx.stop()
            retell.stop()
        }

        /// Telnyx's real call-control webhook body.
        func callEvent(
            _ type: String, _ control: String, from: String = "+15552220001", id: String = UUID().uuidString,
            payload extra: [String: JSONValue] = [:]
        ) -> JSONValue {
            var payload: [String: JSONValue] = [
                "call_control_id": .string(control), "call_leg_id": .string("leg-" + control), "call_session_id": "session-1",
                "connection_id": "conn-1", "from": .string(from), "to": .string(VoiceStackTests.businessNumber), "direction": "incoming",
                "state": "parked",
            ]
            payload.merge(extra) { $1 }
            return [
                "data": [
                    "record_type": "event", "event_type": .string(type), "id": .string(id), "occurred_at": .string(Timestamp.format(Date())),
                    "payload": .object(payload),
                ],
                "meta": ["attempt": 1, "delivered_to": "https://example.com/api/webrtc/webhook"],
            ]
        }

        /// Posts to `/webrtc/webhook` (or messaging's `/sms/webhook`) through the gateway, signed with
        /// Ed25519 unless told otherwise.
        func telnyxWebhook(
            _ body: JSONValue, key: Curve25519.Signing.PrivateKey? = nil, unsigned: Bool = false, at: Date = Date(),
            path: String = "/webrtc/webhook"
        ) async throws -> TestResponse {
            let raw = String(decoding: body.encoded(), as: UTF8.self)
            var headers: [(String, String)] = []
            if !unsigned {
                let stamp = String(Int(at.timeIntervalSince1970))
                let signature = try (key ?? signer).signature(for: Data("\(stamp)|\(raw)".utf8))
                headers = [("telnyx-signature-ed25519", signature.base64EncodedString()), ("telnyx-timestamp", stamp)]
            }
            return try await TestHTTP.request(.POST, stack.api + path, body: raw, headers: headers)
        }

        /// Posts to `/retell/webhook`, signed as Retell signs: HMAC-SHA256 of body + timestamp (ms).
        func retellWebhook(
            _ body: JSONValue, apiKey: String? = nil, unsigned: Bool = false, at: Date = Date()
        ) async throws
            -> TestResponse
        {
            let raw = Array(body.encoded())
            var headers: [(String, String)] = []
            if !unsigned {
                let stamp = String(Int64(at.timeIntervalSince1970 * 1000))
                let mac = HMAC<SHA256>.authenticationCode(
                    for: raw + Array(stamp.utf8), using: SymmetricKey(data: Data((apiKey ?? retell.apiKey).utf8)))
                headers = [("x-retell-signature", "v=\(stamp),d=" + mac.map { String(format: "%02x", $0) }.joined())]
            }
            return try await TestHTTP.request(.POST, stack.api + "/retell/webhook", bytes: raw, headers: headers)
        }

        /// Retell's real `call_analyzed` body for a call it registered.
        func analyzed(_ retellCallID: String, ourCallID: String, appointment: Date?) -> JSONValue {
            var custom: [String: JSONValue] = ["outcome": appointment == nil ? "information_given" : "appointment_scheduled"]
            if let appointment { custom["appointment"] = ["scheduled_date": .string(Timestamp.format(appointment)), "duration": 45] }
            return [
                "event": "call_analyzed",
                "call": [
                    "call_id": .string(retellCallID), "agent_id": "agent_1", "call_status": "ended", "call_type": "phone_call",
                    "metadata": ["call_id": .string(ourCallID)], "start_timestamp": 1_700_000_000_000, "end_timestamp": 1_700_000_095_000,
                    "transcript": "Agent: Hello!\nUser: I need a plumber on Tuesday.", "recording_url": "https://retell.example/rec.wav",
                    "call_analysis": [
                        "call_summary": "The caller booked a plumber visit.", "user_sentiment": "Positive", "call_successful": true,
                        "custom_analysis_data": .object(custom),
                    ],
                ],
            ]
        }

        func calls(_ query: String = "") async throws -> [JSONValue] {
            try await stack.call(.GET, "/calls?\(query)", token: owner.token).data["calls"]?.arrayValue ?? []
        }

        func settings(_ settings: JSONValue) async throws {
            let reply = try await stack.call(.PUT, "/businesses/\(owner.businessID)", ["settings": settings], token: owner.token)
            #expect(reply.status == 200, "\(reply.text)")
        }

        /// Creates and starts an agent; returns its id.
        func startedAgent(_ body: JSONValue = ["name": "Riley"]) async throws -> String {
            let created = try await stack.call(.POST, "/agents", body, token: owner.token)
            let id = try #require(created.data["id"]?.stringValue, "\(created.text)")
            let started = try await stack.call(.POST, "/agents/\(id)/start", token: owner.token)
            #expect(started.status == 200 && started.data["is_active"] == true, "\(started.text)")
            return id
        }

        func eventually(_ what: String, seconds: Double = 15, _ condition: () async throws -> Bool) async throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("timed out waiting for \(what)")
        }
    }

    static func world(
        _ engine: Engine = .sqlite, retell withRetell: Bool = true, environment extra: [String: String] = [:]
    ) async throws -> World? {
        guard let databases = try await StackTests.databases(engine) else { return nil }
        let telnyx = FakeTelnyx()
        try await telnyx.start()
        telnyx.own(businessNumber)
        let retell = FakeRetell()
        try await retell.start()
        let signer = Curve25519.Signing.PrivateKey()
        var environment = [
            "TELNYX_API_KEY": telnyx.apiKey, "TELNYX_API_BASE": telnyx.baseURL,
            "TELNYX_PUBLIC_KEY": signer.publicKey.rawRepresentation.base64EncodedString(), "TEXT_BACK_POLL_SECONDS": "0.2",
        ]
        if withRetell {
            environment["RETELL_API_KEY"] = retell.apiKey
            environment["RETELL_API_BASE"] = retell.baseURL
        }
        environment.merge(extra) { $1 }
        let stack = try await Stack(environment: environment, databases: databases)
        let owner = try await stack.register("owner@example.com", business: "Ana Plumbing")
        let world = World(stack: stack, telnyx: telnyx, retell: retell, signer: signer, owner: owner)
        try await world.settings(["phone_number": .string(businessNumber)])
        return world
    }

    @Test(arguments: Engine.allCases)
    func aCallAnsweredByTheAIEndsWithABookedAppointment(engine: Engine) async throws {
        guard let world = try await Self.world(engine) else { return }
        defer { world.stop() }
        let (stack, token) = (world.stack, world.owner.token)
        let created = try await stack.call(
            .POST, "/agents",
            [
                "name": "Riley", "voice_settings": ["voice_id": "11labs-Myra", "speed": 1.1],
                "behavior_settings": ["personality": "warm", "escalation_triggers": ["angry"]],
            ], token: token)
        #expect(created.status == 201 && created.data["is_active"] == false && created.data["status"] == "inactive")
        let agentID = try #require(created.data["id"]?.stringValue)
        let started = try await stack.call(.POST, "/agents/\(agentID)/start", token: token)
        #expect(started.status == 200 && started.data["is_active"] == true)
        let retellAgent = try #require(world.retell.received("/create-agent").first)
        #expect(retellAgent.body["voice_id"] == "11labs-Myra" && retellAgent.body["agent_name"] == "Ana Plumbing: Riley")
        let again = try await stack.call(.POST, "/agents/\(agentID)/start", token: token)
        #expect(again.status == 200 && world.retell.received("/create-agent").count == 1)  // idempotent

        let control = "v3:ai-call-1"
        #expect(try await world.telnyxWebhook(world.callEvent("call.initiated", control)).status == 200)
        try await world.eventually("the transfer to Retell") { world.telnyx.commands(for: control).map(\.action) == ["answer", "transfer"] }
        let commands = world.telnyx.commands(for: control)
        try #require(commands.count == 2)
        let registered = try #require(world.retell.received("/v2/register-phone-call").first)
        #expect(world.retell.agentIDs == [registered.body["agent_id"]?.stringValue ?? ""])  // the agent made at start
        #expect(registered.body["from_number"] == "+15552220001" && registered.body["to_number"] == .string(Self.businessNumber))
        #expect(registered.body["direction"] == "inbound")
        #expect(commands[0].at <= registered.at && registered.at <= commands[1].at)  // answer, register, transfer
        let sip = try #require(commands[1].body["to"]?.stringValue)
        #expect(sip.hasPrefix("sip:call_") && sip.hasSuffix("@sip.retellai.com"))
        #expect(Set(commands.compactMap(\.commandID)).count == 2)

        let call = try #require(try await world.calls().first)
        let callID = try #require(call["id"]?.stringValue)
        #expect(call["status"] == "in_progress" && call["agent_id"] == .string(agentID) && call["direction"] == "inbound")
        #expect(registered.body["metadata"]?["call_id"] == .string(callID))
        let status = try await stack.call(.GET, "/agents/\(agentID)/status", token: token)
        #expect(status.data["active_calls"] == 1 && status.data["total_calls_today"] == 1 && status.data["status"] == "active")
        #expect((status.data["uptime"]?.intValue ?? -1) >= 0)

        let hangup = world.callEvent(
            "call.hangup", control,
            payload: ["start_time": "2026-11-30T10:00:00Z", "end_time": "2026-11-30T10:01:35Z", "hangup_cause": "normal_clearing"])
        #expect(try await world.telnyxWebhook(hangup).status == 200)
        try await world.eventually("the call to complete") { try await world.calls().first?["status"] == "completed" }
        #expect(try await world.calls().first?["duration"] == 95)
        #expect(try await stack.call(.GET, "/agents/\(agentID)/status", token: token).data["active_calls"] == 0)

        let retellID = String(sip.dropFirst(4).prefix { $0 != "@" })
        let slot = CRMStackTests.next(weekday: 3, hour: 10)
        let analyzed = world.analyzed(retellID, ourCallID: callID, appointment: slot)
        #expect(try await world.retellWebhook(analyzed).status == 200)
        try await world.eventually("the appointment") {
            try await stack.call(.GET, "/calls/\(callID)", token: token).data["appointment_id"]?.stringValue != nil
        }
        let detail = try await stack.call(.GET, "/calls/\(callID)", token: token).data
        #expect(detail["summary"] == "The caller booked a plumber visit." && detail["sentiment"] == "positive")
        #expect(detail["transcript"]?.stringValue?.contains("plumber") == true && detail["outcome"] == "appointment_scheduled")
        let leadID = try #require(detail["lead_id"]?.stringValue)
        let appointments = try await stack.call(.GET, "/appointments", token: token).data["appointments"]?.arrayValue ?? []
        #expect(appointments.count == 1)
        #expect(appointments.first?["id"] == detail["appointment_id"] && appointments.first?["lead_id"] == .string(leadID))
        #expect(appointments.first?["scheduled_date"] == .string(Timestamp.format(slot)) && appointments.first?["duration"] == 45)
        let lead = try await stack.call(.GET, "/leads/\(leadID)", token: token)
        #expect(lead.data["phone"] == "+15552220001" && lead.data["source"] == "call")

        // Another business sees neither the call nor the agent.
        let stranger = try await stack.register("stranger@example.com", business: "Other Co")
        #expect(try await stack.call(.GET, "/calls/\(callID)", token: stranger.token).status == 404)
        #expect(try await stack.call(.GET, "/calls", token: stranger.token).data["calls"] == [])
        #expect(try await stack.call(.GET, "/agents/\(agentID)/status", token: stranger.token).code == "AGENT_NOT_FOUND")

        // The same Retell event again: acknowledged as a duplicate, one appointment still.
        let repeated = try await world.retellWebhook(analyzed)
        #expect(repeated.status == 200 && repeated.data["duplicate"] == true)
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await stack.call(.GET, "/appointments", token: token).data["pagination"]?["total"] == 1)
    }

    @Test func withoutAnAgentOnDutyTheCallGoesToAPersonOrIsAnnounced() async throws {
        guard let world = try await Self.world() else { return }
        defer { world.stop() }
        try await world.settings(["escalation_phone": "+15553330000"])
        // Started, but working only on a day that is not today (in the business's time zone): the day
        // after tomorrow, which stays so should New York's midnight pass during the test.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "America/New_York") ?? .gmt
        let later = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"][
            (calendar.component(.weekday, from: Date()) + 1) % 7]
        _ = try await world.startedAgent(["name": "Off duty", "working_hours": [later: ["open": "00:00", "close": "24:00"]]])

        #expect(try await world.telnyxWebhook(world.callEvent("call.initiated", "v3:escalate")).status == 200)
        try await world.eventually("the transfer to a person") { !world.telnyx.commands(for: "v3:escalate").isEmpty }
        let escalation = world.telnyx.commands(for: "v3:escalate")
        #expect(escalation.map(\.action) == ["transfer"] && escalation.first?.body["to"] == "+15553330000")
        #expect(world.retell.received("/v2/register-phone-call").isEmpty)

        try await world.settings(["escalation_phone": nil])
        #expect(try await world.telnyxWebhook(world.callEvent("call.initiated", "v3:announce", from: "+15552220002")).status == 200)
        try await world.eventually("the message") { world.telnyx.commands(for: "v3:announce").map(\.action) == ["answer", "speak"] }
        #expect(world.telnyx.commands(for: "v3:announce").last?.body["payload"]?.stringValue?.contains("Ana Plumbing") == true)
        #expect(try await world.telnyxWebhook(world.callEvent("call.speak.ended", "v3:announce")).status == 200)
        try await world.eventually("the hang-up") { world.telnyx.commands(for: "v3:announce").map(\.action).last == "hangup" }
    }

    @Test func missedCallsAreTextedBackOnceAndNeverLost() async throws {
        guard let world = try await Self.world() else { return }
        defer { world.stop() }
        try await world.settings(["missed_call_text_back": true, "missed_call_text": "Sorry we missed you! Reply to book."])
        func texts(to phone: String) -> [FakeTelnyx.Received] { world.telnyx.received.filter { $0.body["to"]?.stringValue == phone } }
        func missedCall(_ control: String, from phone: String) async throws {
            #expect(try await world.telnyxWebhook(world.callEvent("call.initiated", control, from: phone)).status == 200)
            #expect(try await world.telnyxWebhook(world.callEvent("call.hangup", control, from: phone)).status == 200)
            try await world.eventually("the missed call") {
                try await world.calls().contains { $0["phone"] == .string(phone) && $0["status"] == "missed" }
            }
        }

        try await missedCall("v3:missed-1", from: "+15552220011")
        try await world.eventually("the text-back") { texts(to: "+15552220011").count == 1 }
        #expect(texts(to: "+15552220011").first?.body["text"] == "Sorry we missed you! Reply to book.")
        #expect(texts(to: "+15552220011").first?.body["from"] == .string(Self.businessNumber))
        try await missedCall("v3:missed-2", from: "+15552220011")  // within 12 hours: no second text
        try await Task.sleep(for: .seconds(1))
        #expect(texts(to: "+15552220011").count == 1)

        // A caller who texted STOP gets nothing.
        let stop: JSONValue = [
            "data": [
                "event_type": "message.received", "id": .string(UUID().uuidString),
                "payload": [
                    "id": "msg-stop", "text": "STOP", "from": ["phone_number": "+15552220012"],
                    "to": [["phone_number": .string(Self.businessNumber)]],
                ],
            ]
        ]
        let raw = String(decoding: stop.encoded(), as: UTF8.self)
        let stamp = String(Int(Date().timeIntervalSince1970))
        let signature = try world.signer.signature(for: Data("\(stamp)|\(raw)".utf8)).base64EncodedString()
        _ = try await TestHTTP.request(
            .POST, world.stack.api + "/sms/webhook", body: raw, headers: [("telnyx-signature-ed25519", signature), ("telnyx-timestamp", stamp)])
        try await world.eventually("the opt-out") {
            try await world.stack.call(.GET, "/sms?direction=inbound", token: world.owner.token).data["sms"]?.arrayValue?.count == 1
        }
        try await missedCall("v3:missed-3", from: "+15552220012")
        try await Task.sleep(for: .seconds(1))
        #expect(texts(to: "+15552220012").isEmpty)

        // Messaging down when the call is missed: the text waits, and is sent once it is back.
        world.stack.kill(.messaging)
        try await missedCall("v3:missed-4", from: "+15552220013")
        try await Task.sleep(for: .seconds(2))
        #expect(texts(to: "+15552220013").isEmpty)
        try world.stack.start(.messaging)
        try await TestHTTP.waitUntilUp(world.stack.url(.messaging) + "/health")
        try await world.eventually("the delayed text-back", seconds: 30) { texts(to: "+15552220013").count == 1 }
        try await Task.sleep(for: .seconds(1))
        #expect(texts(to: "+15552220013").count == 1)
    }

    @Test func unsignedForgedStaleAndReplayedWebhooksHaveNoEffect() async throws {
        guard let world = try await Self.world() else { return }
        defer { world.stop() }
        let event = world.callEvent("call.initiated", "v3:forged")
        #expect(try await world.telnyxWebhook(event, unsigned: true).code == "AUTH_INVALID_TOKEN")
        #expect(try await world.telnyxWebhook(event, key: Curve25519.Signing.PrivateKey()).status == 401)
        #expect(try await world.telnyxWebhook(event, at: Date().addingTimeInterval(-600)).status == 401)
        let retellEvent = world.analyzed("call_x", ourCallID: "call_y", appointment: nil)
        #expect(try await world.retellWebhook(retellEvent, unsigned: true).status == 401)
        #expect(try await world.retellWebhook(retellEvent, apiKey: "wrong-key").status == 401)
        #expect(try await world.retellWebhook(retellEvent, at: Date().addingTimeInterval(-600)).status == 401)
        try await Task.sleep(for: .milliseconds(600))
        #expect(world.telnyx.commands.isEmpty)
        #expect(try await world.calls().isEmpty)

        // A signed event delivered twice: one call, one set of commands.
        #expect(try await world.telnyxWebhook(event).data["duplicate"] == false)
        #expect(try await world.telnyxWebhook(event).data["duplicate"] == true)
        try await world.eventually("the message") { world.telnyx.commands(for: "v3:forged").count == 2 }
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await world.calls().count == 1 && world.telnyx.commands(for: "v3:forged").map(\.action) == ["answer", "speak"])
        let metrics = try await TestHTTP.request(.GET, world.stack.url(.voiceAgent) + "/metrics")
        #expect(metrics.text.contains(#"webhook_verification_failures_total{service="voice-agent",provider="telnyx"} 3"#))
        #expect(metrics.text.contains(#"webhook_verification_failures_total{service="voice-agent",provider="retell"} 3"#))
    }

    @Test func aFailingAnswerIsRetriedUnderOneCommandIDAndTheCallFails() async throws {
        guard let world = try await Self.world() else { return }
        defer { world.stop() }
        _ = try await world.startedAgent()
        world.telnyx.failAction("answer")
        #expect(try await world.telnyxWebhook(world.callEvent("call.initiated", "v3:no-answer")).status == 200)
        try await world.eventually("the failed call", seconds: 20) { try await world.calls().first?["status"] == "failed" }
        let answers = world.telnyx.commands(for: "v3:no-answer").filter { $0.action == "answer" }
        #expect(answers.count >= 2 && Set(answers.compactMap(\.commandID)).count == 1)
        #expect(world.telnyx.commands(for: "v3:no-answer").allSatisfy { $0.action == "answer" })
        let metrics = try await TestHTTP.request(.GET, world.stack.url(.voiceAgent) + "/metrics")
        #expect(metrics.text.contains(#"provider_commands_total{service="voice-agent",command="answer",provider="telnyx",result="failed"} 1"#))
    }

    @Test func aRestartedServiceCompletesTheCallInProgress() async throws {
        guard let world = try await Self.world() else { return }
        defer { world.stop() }
        _ = try await world.startedAgent()
        #expect(try await world.telnyxWebhook(world.callEvent("call.initiated", "v3:restart")).status == 200)
        try await world.eventually("the AI call") { try await world.calls().first?["status"] == "in_progress" }
        try await world.eventually("the transfer") { world.telnyx.commands(for: "v3:restart").count == 2 }
        world.stack.kill(.voiceAgent)
        try world.stack.start(.voiceAgent)
        try await TestHTTP.waitUntilUp(world.stack.url(.voiceAgent) + "/health")
        #expect(try await world.telnyxWebhook(world.callEvent("call.hangup", "v3:restart")).status == 200)
        try await world.eventually("the completed call") { try await world.calls().first?["status"] == "completed" }
        #expect(world.telnyx.commands(for: "v3:restart").count == 2)  // nothing sent again
    }

    @Test func agentsAreValidatedScopedAndStartedOnlyWhenRetellTakesThem() async throws {
        guard let world = try await Self.world() else { return }
        defer { world.stop() }
        let (stack, token) = (world.stack, world.owner.token)
        let bad = try await stack.call(
            .POST, "/agents",
            [
                "voice_settings": ["speed": 9, "tone": "x"], "behavior_settings": ["escalation_triggers": "angry"],
                "working_hours": ["funday": ["open": "09:00", "close": "17:00"], "monday": ["open": "18:00", "close": "09:00"]],
            ], token: token)
        #expect(bad.status == 422)
        let details = bad.body["details"]?.objectValue ?? [:]
        for field in [
            "name", "voice_settings.speed", "voice_settings.tone", "behavior_settings.escalation_triggers", "working_hours.funday",
            "working_hours.monday.close",
        ] {
            #expect(details[field] != nil, "\(field) in \(bad.text)")
        }
        #expect(try await stack.call(.GET, "/agents", token: token).data["pagination"]?["total"] == 0)

        let created = try await stack.call(.POST, "/agents", ["name": "Sam"], token: token)
        let agentID = try #require(created.data["id"]?.stringValue)
        world.retell.setFailing(true)
        let refused = try await stack.call(.POST, "/agents/\(agentID)/start", token: token)
        #expect(refused.status == 502 && refused.code == "EXTERNAL_SERVICE_ERROR")
        #expect(try await stack.call(.GET, "/agents/\(agentID)", token: token).data["is_active"] == false)
        world.retell.setFailing(false)
        #expect(try await stack.call(.POST, "/agents/\(agentID)/start", token: token).data["is_active"] == true)
        // A started agent's change reaches Retell first; if Retell refuses, nothing changes.
        #expect(try await stack.call(.PUT, "/agents/\(agentID)", ["name": "Sam Two"], token: token).status == 200)
        #expect(world.retell.received("/update-agent").last?.body["agent_name"] == "Ana Plumbing: Sam Two")
        world.retell.setFailing(true)
        #expect(try await stack.call(.PUT, "/agents/\(agentID)", ["name": "Sam Three"], token: token).status == 502)
        #expect(try await stack.call(.GET, "/agents/\(agentID)", token: token).data["name"] == "Sam Two")
        world.retell.setFailing(false)
        #expect(try await stack.call(.GET, "/agents?status=active", token: token).data["agents"]?.arrayValue?.count == 1)
        #expect(try await stack.call(.GET, "/agents?status=inactive", token: token).data["agents"]?.arrayValue?.count == 0)
        #expect(try await stack.call(.GET, "/agents?status=sleeping", token: token).status == 422)
        let stopped = try await stack.call(.POST, "/agents/\(agentID)/stop", token: token)
        #expect(stopped.data["is_active"] == false && stopped.data["started_at"] == .null)
        #expect(try await stack.call(.GET, "/agents/\(agentID)/status", token: token).data["uptime"] == 0)

        // Another business sees none of it; a member without the admin role cannot change agents.
        let stranger = try await stack.register("stranger@example.com", business: "Other Co")
        #expect(try await stack.call(.GET, "/agents/\(agentID)", token: stranger.token).code == "AGENT_NOT_FOUND")
        #expect(try await stack.call(.POST, "/agents/\(agentID)/start", token: stranger.token).status == 404)
        #expect(try await stack.call(.DELETE, "/agents/\(agentID)", token: stranger.token).status == 404)
        #expect(try await stack.call(.GET, "/calls/call_01J00000000000000000000000", token: stranger.token).status == 404)
        let member = try await stack.call(
            .POST, "/businesses/\(world.owner.businessID)/members",
            ["email": "staff@example.com", "password": "password123", "role": "user", "first_name": "S", "last_name": "T"],
            token: token)
        #expect(member.status == 201)
        let login = try await stack.call(.POST, "/auth/login", ["email": "staff@example.com", "password": "password123"])
        let staff = try #require(login.data["token"]?.stringValue)
        #expect(try await stack.call(.POST, "/agents/\(agentID)/start", token: staff).status == 403)
        #expect(try await stack.call(.GET, "/agents/\(agentID)", token: staff).status == 200)
        #expect(try await stack.call(.GET, "/calls?status=ringing", token: staff).status == 422)
        #expect(try await stack.call(.DELETE, "/agents/\(agentID)", token: token).status == 200)
        #expect(try await stack.call(.GET, "/agents/\(agentID)", token: token).status == 404)
    }

    /// An AI call up to its end: returns our call id and Retell's.
    func finishedAICall(_ world: World, _ control: String, from phone: String) async throws -> (call: String, retell: String) {
        #expect(try await world.telnyxWebhook(world.callEvent("call.initiated", control, from: phone)).status == 200)
        try await world.eventually("the transfer") { world.telnyx.commands(for: control).count == 2 }
        let sip = try #require(world.telnyx.commands(for: control).last?.body["to"]?.stringValue)
        let hangup = world.callEvent(
            "call.hangup", control, from: phone, payload: ["start_time": "2026-11-30T10:00:00Z", "end_time": "2026-11-30T10:00:30Z"])
        #expect(try await world.telnyxWebhook(hangup).status == 200)
        var callID = ""
        try await world.eventually("the completed call") {
            let call = try await world.calls("status=completed").first { $0["phone"] == .string(phone) }
            callID = call?["id"]?.stringValue ?? ""
            return call?["lead_id"]?.stringValue != nil
        }
        return (callID, String(sip.dropFirst(4).prefix { $0 != "@" }))
    }

    @Test func bookingTroubleIsRecordedOnTheCallOrWaitsForCRM() async throws {
        guard let world = try await Self.world() else { return }
        defer { world.stop() }
        let (stack, token) = (world.stack, world.owner.token)
        _ = try await world.startedAgent()
        let slot = CRMStackTests.next(weekday: 4, hour: 15)
        let other = try await stack.call(.POST, "/leads", ["phone": "+15552229999"], token: token)
        let taken = try await stack.call(
            .POST, "/appointments", ["lead_id": other.data["id"] ?? nil, "scheduled_date": .string(Timestamp.format(slot))], token: token)
        #expect(taken.status == 201)

        // The slot is taken: kept on the call, nothing booked, not retried.
        let first = try await finishedAICall(world, "v3:book-1", from: "+15552220021")
        let recording = world.callEvent(
            "call.recording.saved", "v3:book-1", payload: ["recording_urls": ["mp3": "https://telnyx.example/rec.mp3"]])
        #expect(try await world.telnyxWebhook(recording).status == 200)
        #expect(try await world.retellWebhook(world.analyzed(first.retell, ourCallID: first.call, appointment: slot)).status == 200)
        try await world.eventually("the booking error and Telnyx's recording") {
            let call = try await stack.call(.GET, "/calls/\(first.call)", token: token).data
            return call["booking_error"]?.stringValue != nil && call["recording_url"] == "https://telnyx.example/rec.mp3"
        }
        let detail = try await stack.call(.GET, "/calls/\(first.call)", token: token).data
        #expect(detail["booking_error"]?.stringValue?.contains("taken") == true && detail["appointment_id"] == .null)
        #expect(try await stack.call(.GET, "/appointments", token: token).data["pagination"]?["total"] == 1)

        // crm down: the webhook still answers at once, and the booking happens once crm is back.
        let second = try await finishedAICall(world, "v3:book-2", from: "+15552220022")
        world.stack.kill(.crm)
        let started = Date()
        let answer = try await world.retellWebhook(
            world.analyzed(second.retell, ourCallID: second.call, appointment: slot.addingTimeInterval(3 * 3600)))
        #expect(answer.status == 200 && Date().timeIntervalSince(started) < 8)  // not waiting for crm
        try await Task.sleep(for: .seconds(1))
        try world.stack.start(.crm)
        try await TestHTTP.waitUntilUp(world.stack.url(.crm) + "/health")
        try await world.eventually("the delayed booking", seconds: 90) {  // the inbox backs off while crm is down
            try await stack.call(.GET, "/calls/\(second.call)", token: token).data["appointment_id"]?.stringValue != nil
        }
        #expect(try await stack.call(.GET, "/appointments", token: token).data["pagination"]?["total"] == 2)

        // The list filters.
        let leadID = try #require(detail["lead_id"]?.stringValue)
        #expect(try await world.calls("lead_id=\(leadID)").map { $0["id"] } == [.string(first.call)])
        #expect(try await world.calls("status=completed&direction=inbound").count == 2)
        #expect(try await world.calls("status=missed").isEmpty)
        #expect(try await world.calls("direction=outbound").isEmpty)
        let future = Timestamp.format(Date().addingTimeInterval(3600))
        #expect(try await world.calls("start_date=\(future)").isEmpty)
        #expect(try await world.calls("end_date=\(future)&limit=1").count == 1)
    }
}
