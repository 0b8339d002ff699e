import CloudGreetCore
import Crypto
import Foundation
import Providers
import Testing

@testable import VoiceAgent

/// The voice-agent's plain rules: reading both body shapes of each provider, Retell's signature,
/// and which agent takes a call.
@Suite struct VoiceDomainTests {
    @Test func telnyxCallEventsAreReadFromTheRealAndTheSeedBody() throws {
        let real: JSONValue = [
            "data": [
                "event_type": "call.hangup", "id": "0ccc7b54-4df3-4bca-a65a-3da1ecc777f0", "occurred_at": "2026-11-30T10:01:35.000Z",
                "payload": [
                    "call_control_id": "v3:abc", "from": "+15552220001", "to": "+15557770000", "start_time": "2026-11-30T10:00:00Z",
                    "end_time": "2026-11-30T10:01:35Z", "hangup_cause": "normal_clearing",
                ],
            ]
        ]
        let event = try #require(TelnyxCallEvent.parse(real, rawBody: Array(real.encoded())))
        #expect(event.id == "telnyx:0ccc7b54-4df3-4bca-a65a-3da1ecc777f0" && event.type == "call.hangup" && event.callControlID == "v3:abc")
        #expect(event.endTime?.timeIntervalSince(event.startTime ?? Date()) == 95 && event.hangupCause == "normal_clearing")

        let seed: JSONValue = [
            "event_type": "call.answered", "data": ["call_control_id": "call_123", "call_leg_id": "leg_456", "from": "+1234567890"],
        ]
        let body = Array(seed.encoded())
        let seedEvent = try #require(TelnyxCallEvent.parse(seed, rawBody: body))
        #expect(seedEvent.id.hasPrefix("telnyx:sha256:") && seedEvent.callControlID == "call_123")
        #expect(TelnyxCallEvent.parse(seed, rawBody: body)?.id == seedEvent.id)  // the same body is the same event

        for bad: JSONValue in [
            ["event_type": "message.received", "data": ["call_control_id": "x"]],  // not a call event
            ["event_type": "call.initiated", "data": ["from": "+1"]],  // no call control id
            ["event_type": "call.initiated", "data": ["call_control_id": "a\u{0}b"]],
        ] {
            #expect(TelnyxCallEvent.parse(bad, rawBody: Array(bad.encoded())) == nil)
        }
    }

    @Test func retellEventsAreReadFromTheRealAndTheSeedBody() throws {
        let real: JSONValue = [
            "event": "call_analyzed",
            "call": [
                "call_id": "c1", "metadata": ["call_id": "call_ours"], "start_timestamp": 1_000, "end_timestamp": 61_000,
                "transcript": "hi",
                "call_analysis": [
                    "call_summary": "Booked.", "user_sentiment": "Positive",
                    "custom_analysis_data": ["outcome": "appointment_scheduled", "appointment_date": "2026-12-02T15:00:00-05:00"],
                ],
            ],
        ]
        let event = try #require(RetellEvent.parse(real, rawBody: []))
        #expect(event.id == "retell:c1:call_analyzed" && event.kind == .analyzed && event.ourCallID == "call_ours")
        #expect(event.summary == "Booked." && event.sentiment == "positive" && event.durationSeconds == 60)
        #expect(event.appointment?.scheduledAt == Timestamp.parse("2026-12-02T20:00:00Z"))

        let seed: JSONValue = [
            "event_type": "conversation.ended",
            "data": ["conversation_id": "conv_123", "transcript": "Hello, this is John...", "outcome": "appointment_scheduled"],
        ]
        let seedEvent = try #require(RetellEvent.parse(seed, rawBody: Array(seed.encoded())))
        #expect(seedEvent.retellCallID == "conv_123" && seedEvent.kind == .analyzed && seedEvent.appointment == nil)
        #expect(RetellEvent.parse(["event": "call_exploded", "call": ["call_id": "c1"]], rawBody: []) == nil)
    }

    @Test func retellSignaturesAreCheckedInTime() throws {
        let verifier = RetellSignatureVerifier(apiKey: "secret")
        let body = Array(#"{"event":"call_started"}"#.utf8)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        func sign(_ key: String, at date: Date) -> String {
            let stamp = String(Int64(date.timeIntervalSince1970 * 1000))
            let mac = HMAC<SHA256>.authenticationCode(for: body + Array(stamp.utf8), using: SymmetricKey(data: Data(key.utf8)))
            return "v=\(stamp),d=" + mac.map { String(format: "%02x", $0) }.joined()
        }
        #expect(throws: Never.self) { try verifier.verify(signature: sign("secret", at: now), body: body, now: now) }
        #expect(throws: RetellSignatureVerifier.Failure.mismatch) { try verifier.verify(signature: sign("other", at: now), body: body, now: now) }
        #expect(throws: RetellSignatureVerifier.Failure.stale) {
            try verifier.verify(signature: sign("secret", at: now - 301), body: body, now: now)
        }
        #expect(throws: RetellSignatureVerifier.Failure.missing) { try verifier.verify(signature: nil, body: body, now: now) }
        #expect(throws: RetellSignatureVerifier.Failure.malformed) { try verifier.verify(signature: "v=1,d=zz", body: body, now: now) }
        #expect(throws: RetellSignatureVerifier.Failure.mismatch) {
            try verifier.verify(signature: sign("secret", at: now), body: body + [32], now: now)  // a changed body
        }
    }

    @Test func theFirstStartedAgentWorkingNowTakesTheCall() throws {
        let zone = try #require(TimeZone(identifier: "America/New_York"))
        let mondayNoon = try #require(Timestamp.parse("2026-11-30T12:00:00-05:00"))  // a Monday
        func agent(_ name: String, hours: JSONValue?, started: Bool = true, retell: String? = "r") -> Agent {
            Agent(
                id: "agent_" + name, businessID: "b", name: name, voiceSettings: [:], behaviorSettings: [:], workingHours: hours,
                startedAt: started ? mondayNoon : nil, retellAgentID: retell, retellLLMID: retell, createdAt: mondayNoon,
                updatedAt: mondayNoon)
        }
        let weekend = agent("weekend", hours: ["saturday": ["open": "09:00", "close": "17:00"]])
        let mornings = agent("mornings", hours: ["monday": ["open": "08:00", "close": "12:00"]])  // closes at noon
        let always = agent("always", hours: nil)
        let stopped = agent("stopped", hours: nil, started: false)
        #expect(AgentRules.agentOnDuty([stopped, weekend, mornings, always], at: mondayNoon, timeZone: zone)?.name == "always")
        #expect(AgentRules.agentOnDuty([mornings], at: mondayNoon - 60, timeZone: zone)?.name == "mornings")
        #expect(AgentRules.agentOnDuty([weekend, stopped], at: mondayNoon, timeZone: zone) == nil)

        #expect(AgentRules.route(onDuty: always, aiAvailable: true, escalationPhone: "+1555") == .ai(always.id))
        #expect(AgentRules.route(onDuty: always, aiAvailable: false, escalationPhone: "+1555") == .escalate(to: "+1555"))
        #expect(AgentRules.route(onDuty: agent("x", hours: nil, retell: nil), aiAvailable: true, escalationPhone: nil) == .announce)
    }
}
