import CloudGreetCore
import Foundation

/// A provider event as stored in the webhook inbox and worked by the call flow.
enum VoiceEvent: Sendable {
    case telnyx(TelnyxCallEvent)
    case retell(RetellEvent)

    /// Which call the event is about, as far as the event itself says: its events are worked in order.
    var callKey: String {
        switch self {
        case .telnyx(let event): "telnyx:" + event.callControlID
        case .retell(let event): "retell:" + event.retellCallID
        }
    }

    /// Reads a stored payload back; the id says which provider sent it.
    static func read(id: String, payload: JSONValue) -> VoiceEvent? {
        if id.hasPrefix(TelnyxCallEvent.prefix), var event = TelnyxCallEvent.parse(payload, rawBody: []) {
            event.id = id
            return .telnyx(event)
        }
        if id.hasPrefix(RetellEvent.prefix), var event = RetellEvent.parse(payload, rawBody: []) {
            event.id = id
            return .retell(event)
        }
        return nil
    }
}

/// A Telnyx call-control webhook, from Telnyx's real body (`data.event_type`, `data.id`,
/// `data.occurred_at`, `data.payload.{call_control_id, from, to, start_time, end_time, hangup_cause,
/// recording_urls}`) or the seed's (`event_type`, `data.{call_control_id, from, to}`, no event id:
/// the hash of the raw body stands in, so a redelivery is still seen).
struct TelnyxCallEvent: Sendable, Equatable {
    static let prefix = "telnyx:"

    var id: String
    var type: String
    var callControlID: String
    var from: String?
    var to: String?
    var occurredAt: Date?
    var startTime: Date?
    var endTime: Date?
    var hangupCause: String?
    var recordingURL: String?

    static func parse(_ json: JSONValue, rawBody: [UInt8]) -> TelnyxCallEvent? {
        let hash = prefix + "sha256:" + Secrets.sha256Hex(String(decoding: rawBody, as: UTF8.self))
        let event: TelnyxCallEvent?
        if let data = json["data"], let type = data["event_type"]?.stringValue, let payload = data["payload"], case .object = payload {
            event = payload["call_control_id"]?.stringValue.map { control in
                TelnyxCallEvent(
                    id: data["id"]?.stringValue.map { prefix + $0 } ?? hash, type: type, callControlID: control,
                    from: payload["from"]?.stringValue, to: payload["to"]?.stringValue,
                    occurredAt: data["occurred_at"]?.stringValue.flatMap(Timestamp.parse),
                    startTime: payload["start_time"]?.stringValue.flatMap(Timestamp.parse),
                    endTime: payload["end_time"]?.stringValue.flatMap(Timestamp.parse), hangupCause: payload["hangup_cause"]?.stringValue,
                    recordingURL: payload["recording_urls"]?["mp3"]?.stringValue ?? payload["public_recording_urls"]?["mp3"]?.stringValue)
            }
        } else if let type = json["event_type"]?.stringValue, let data = json["data"], let control = data["call_control_id"]?.stringValue {
            event = TelnyxCallEvent(
                id: hash, type: type, callControlID: control, from: data["from"]?.stringValue, to: data["to"]?.stringValue,
                occurredAt: nil, startTime: nil, endTime: nil, hangupCause: data["hangup_cause"]?.stringValue,
                recordingURL: data["recording_url"]?.stringValue)
        } else {
            event = nil
        }
        guard let event, isCallEvent(event.type), event.id.utf8.count <= 200, event.callControlID.utf8.count <= 200,
            !event.texts.contains(where: { $0?.contains("\u{0}") == true })
        else { return nil }
        return event
    }

    private var texts: [String?] { [id, callControlID, from, to, hangupCause, recordingURL] }

    /// Call-control events are `call.<words>` (`call.initiated`, `call.recording.saved`).
    static func isCallEvent(_ type: String) -> Bool {
        let parts = type.split(separator: ".", omittingEmptySubsequences: false)
        return type.utf8.count <= 100 && parts.count >= 2 && parts[0] == "call"
            && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || $0 == 95 } }
    }
}

/// A Retell webhook, from Retell's real body (`{event: call_started|call_ended|call_analyzed, call:
/// {call_id, metadata, start_timestamp, end_timestamp, transcript, recording_url, call_analysis}}`)
/// or the seed's (`{event_type: "conversation.ended", data: {conversation_id, transcript, outcome}}`).
/// Retell sends no event id: the call id and event name identify it (one effect per event and call).
struct RetellEvent: Sendable, Equatable {
    static let prefix = "retell:"

    enum Kind: String, Sendable { case started, ended, analyzed }

    /// An appointment the caller agreed to on the call.
    struct Appointment: Sendable, Equatable {
        var scheduledAt: Date
        var duration: Int?
        var notes: String?
    }

    var id: String
    var kind: Kind
    var retellCallID: String
    /// Our call id, when Retell echoes the metadata we registered the call with.
    var ourCallID: String?
    var transcript: String?
    var recordingURL: String?
    var summary: String?
    var sentiment: String?
    var outcome: String?
    var analysis: JSONValue?
    var appointment: Appointment?
    var durationSeconds: Int?

    static func parse(_ json: JSONValue, rawBody: [UInt8]) -> RetellEvent? {
        let event: RetellEvent?
        if let name = json["event"]?.stringValue, let call = json["call"], let callID = call["call_id"]?.stringValue {
            event = real(name, call, callID)
        } else if json["event_type"]?.stringValue == "conversation.ended", let data = json["data"],
            let callID = data["conversation_id"]?.stringValue
        {
            event = RetellEvent(
                id: prefix + "sha256:" + Secrets.sha256Hex(String(decoding: rawBody, as: UTF8.self)), kind: .analyzed,
                retellCallID: callID, ourCallID: nil, transcript: data["transcript"]?.stringValue,
                recordingURL: data["recording_url"]?.stringValue, summary: data["summary"]?.stringValue,
                sentiment: data["sentiment"]?.stringValue, outcome: data["outcome"]?.stringValue, analysis: nil,
                appointment: appointment(data["appointment"]), durationSeconds: data["duration"]?.intValue)
        } else {
            event = nil
        }
        let texts = [event?.retellCallID, event?.ourCallID, event?.transcript, event?.summary, event?.outcome, event?.recordingURL]
        guard let event, event.retellCallID.utf8.count <= 200, !texts.contains(where: { $0?.contains("\u{0}") == true }) else { return nil }
        return event
    }

    private static func real(_ name: String, _ call: JSONValue, _ callID: String) -> RetellEvent? {
        let kind: Kind
        switch name {
        case "call_started": kind = .started
        case "call_ended": kind = .ended
        case "call_analyzed": kind = .analyzed
        default: return nil
        }
        let analysis = call["call_analysis"]
        let custom = analysis?["custom_analysis_data"]
        var duration: Int?
        if let start = call["start_timestamp"]?.intValue, let end = call["end_timestamp"]?.intValue, end >= start {
            duration = (end - start) / 1000
        }
        return RetellEvent(
            id: prefix + callID + ":" + name, kind: kind, retellCallID: callID, ourCallID: call["metadata"]?["call_id"]?.stringValue,
            transcript: call["transcript"]?.stringValue, recordingURL: call["recording_url"]?.stringValue,
            summary: analysis?["call_summary"]?.stringValue, sentiment: analysis?["user_sentiment"]?.stringValue?.lowercased(),
            outcome: custom?["outcome"]?.stringValue, analysis: analysis.flatMap { $0.objectValue == nil ? nil : $0 },
            appointment: appointment(custom?["appointment"]) ?? appointment(custom), durationSeconds: duration)
    }

    /// `{scheduled_date, duration?, notes?}`; Retell's custom analysis may also say `appointment_date`.
    private static func appointment(_ json: JSONValue?) -> Appointment? {
        guard let json, let text = json["scheduled_date"]?.stringValue ?? json["appointment_date"]?.stringValue,
            let date = Timestamp.parse(text)
        else { return nil }
        return Appointment(
            scheduledAt: date, duration: json["duration"]?.intValue ?? json["appointment_duration"]?.intValue,
            notes: json["notes"]?.stringValue ?? json["appointment_notes"]?.stringValue)
    }
}
