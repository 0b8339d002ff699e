import CloudGreetCore
import Foundation
import Persistence

enum AgentStatus: String, CaseIterable, Sendable, Encodable {
    case active, inactive
}

/// An AI agent of a business: how it sounds, how it behaves, when it takes calls, and whether it
/// is started. `retellLLMID` is Retell's id for its prompt; it is kept, not shown.
struct Agent: Sendable, Encodable, JSONRepresentable {
    var id: String
    var businessID: String
    var name: String
    var voiceSettings: JSONValue
    var behaviorSettings: JSONValue
    var workingHours: JSONValue?
    private(set) var isActive: Bool
    private(set) var status: AgentStatus
    private(set) var startedAt: Date?
    var retellAgentID: String?
    var retellLLMID: String?
    var createdAt: Date
    var updatedAt: Date

    init(
        id: String, businessID: String, name: String, voiceSettings: JSONValue, behaviorSettings: JSONValue, workingHours: JSONValue?,
        startedAt: Date?, retellAgentID: String?, retellLLMID: String?, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.businessID = businessID
        self.name = name
        self.voiceSettings = voiceSettings
        self.behaviorSettings = behaviorSettings
        self.workingHours = workingHours
        isActive = startedAt != nil
        status = startedAt != nil ? .active : .inactive
        self.startedAt = startedAt
        self.retellAgentID = retellAgentID
        self.retellLLMID = retellLLMID
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Started at `date`, or stopped when nil: `is_active`, `status` and `started_at` move together.
    mutating func setStarted(_ date: Date?) {
        startedAt = date
        isActive = date != nil
        status = date != nil ? .active : .inactive
    }

    enum CodingKeys: String, CodingKey {
        case id, name, status
        case businessID = "business_id"
        case voiceSettings = "voice_settings"
        case behaviorSettings = "behavior_settings"
        case workingHours = "working_hours"
        case isActive = "is_active"
        case startedAt = "started_at"
        case retellAgentID = "retell_agent_id"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

extension Agent {
    init(row: SQLRow) throws {
        self.init(
            id: try row.required("id"), businessID: try row.required("business_id"), name: try row.required("name"),
            voiceSettings: row.json("voice_settings") ?? [:], behaviorSettings: row.json("behavior_settings") ?? [:],
            workingHours: row.json("working_hours"), startedAt: row.date("started_at"), retellAgentID: row.string("retell_agent_id"),
            retellLLMID: row.string("retell_llm_id"), createdAt: try row.requiredDate("created_at"),
            updatedAt: try row.requiredDate("updated_at"))
    }
}

enum CallStatus: String, CaseIterable, Sendable, Encodable {
    case inProgress = "in_progress"
    case completed, failed, missed
}

enum CallDirection: String, CaseIterable, Sendable, Encodable {
    case inbound, outbound
}

/// Where a live call is in `CallSession`'s state machine.
enum CallStage: String, Sendable {
    /// Recorded; nothing decided or done yet.
    case ringing
    /// Being answered and handed to the AI: answer, register with Retell, transfer.
    case connectingAI = "connecting_ai"
    /// Transferred to Retell.
    case withAI = "with_ai"
    /// Transferred to the business's escalation phone.
    case escalating
    /// Answered to say no one can take the call, then hung up.
    case announcing
    case ended
}

/// Who took a call: the AI agent or a person at the escalation phone. A call nobody took is `missed`.
enum Answerer: String, Sendable, Encodable {
    case ai, person
}

/// A phone call as clients see it in lists; `detail` adds the analysis for `GET /calls/{id}`.
struct Call: Sendable, Encodable, JSONRepresentable {
    var id: String
    var businessID: String
    var agentID: String?
    var leadID: String?
    @ErasedWhenEmpty var phone: String
    var direction: CallDirection
    var duration: Int?
    var status: CallStatus
    var recordingURL: String?
    var transcript: String?
    var summary: String?
    var outcome: String?
    var createdAt: Date
    var endedAt: Date?
    // Kept for the call's handling and its detail; not in list items.
    var toNumber: String?
    var stage: CallStage
    var callControlID: String
    var retellCallID: String?
    var answeredBy: Answerer?
    var hangupCause: String?
    var sentiment: String?
    var analysis: JSONValue?
    var appointmentID: String?
    var bookingError: String?
    var error: String?
    var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, phone, direction, duration, status, transcript, summary, outcome
        case businessID = "business_id"
        case agentID = "agent_id"
        case leadID = "lead_id"
        case recordingURL = "recording_url"
        case createdAt = "created_at"
        case endedAt = "ended_at"
    }

    /// The extra fields of `GET /calls/{id}`.
    struct Detail: Encodable {
        let sentiment: String?
        let analysis: JSONValue?
        let answeredBy: Answerer?
        let hangupCause: String?
        let appointmentID: String?
        let bookingError: String?
        let error: String?

        enum CodingKeys: String, CodingKey {
            case sentiment, analysis, error
            case answeredBy = "answered_by"
            case hangupCause = "hangup_cause"
            case appointmentID = "appointment_id"
            case bookingError = "booking_error"
        }
    }

    var detail: JSONValue {
        let extra = Detail(
            sentiment: sentiment, analysis: analysis, answeredBy: answeredBy, hangupCause: hangupCause, appointmentID: appointmentID,
            bookingError: bookingError, error: error)
        return json.merging((try? JSONValueEncoder.encode(extra)) ?? [:])
    }
}

extension Call {
    init(row: SQLRow) throws {
        self.init(
            id: try row.required("id"), businessID: try row.required("business_id"), agentID: row.string("agent_id"),
            leadID: row.string("lead_id"), phone: try row.required("phone"),
            direction: try row.required("direction", as: CallDirection.self), duration: row.int("duration"),
            status: try row.required("status", as: CallStatus.self), recordingURL: row.string("recording_url"),
            transcript: row.string("transcript"), summary: row.string("summary"), outcome: row.string("outcome"),
            createdAt: try row.requiredDate("created_at"), endedAt: row.date("ended_at"), toNumber: row.string("to_number"),
            stage: try row.required("stage", as: CallStage.self), callControlID: try row.required("call_control_id"),
            retellCallID: row.string("retell_call_id"), answeredBy: row.string("answered_by").flatMap(Answerer.init(rawValue:)),
            hangupCause: row.string("hangup_cause"), sentiment: row.string("sentiment"), analysis: row.json("analysis"),
            appointmentID: row.string("appointment_id"), bookingError: row.string("booking_error"), error: row.string("error"),
            updatedAt: try row.requiredDate("updated_at"))
    }
}
