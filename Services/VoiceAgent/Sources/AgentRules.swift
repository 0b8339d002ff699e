import CloudGreetCore
import Foundation
import Providers

/// What an agent may be configured with, what Retell is told about it, and which agent takes a
/// call. Plain values, no HTTP or SQL.
enum AgentRules {
    static let voiceKeys: Set<String> = ["voice_id", "speed", "pitch"]
    static let behaviorKeys: Set<String> = ["personality", "conversation_style", "escalation_triggers", "greeting", "instructions"]
    /// The voice Retell uses when the agent names none.
    static let defaultVoice = "11labs-Adrian"

    /// `voice_settings`: `voice_id` (text), `speed` and `pitch` (0.5 to 2.0). Unknown keys are
    /// refused so that a misspelt setting is not silently ignored.
    static func voice(_ fields: FieldReader) -> JSONValue? {
        for key in fields.object.keys where !voiceKeys.contains(key) { fields.fail(key, "is not a voice setting") }
        var result: [String: JSONValue] = [:]
        if let voice = fields.string("voice_id", maxLength: 100) { result["voice_id"] = .string(voice) }
        for key in ["speed", "pitch"] {
            if let value = fields.double(key, range: 0.5...2.0) { result[key] = .number(value) }
        }
        return .object(result)
    }

    /// `behavior_settings`: `personality`, `conversation_style`, `greeting` and `instructions` (text),
    /// `escalation_triggers` (up to 20 short texts).
    static func behavior(_ fields: FieldReader) -> JSONValue? {
        for key in fields.object.keys where !behaviorKeys.contains(key) { fields.fail(key, "is not a behavior setting") }
        var result: [String: JSONValue] = [:]
        for key in ["personality", "conversation_style"] {
            if let text = fields.string(key, maxLength: 100) { result[key] = .string(text) }
        }
        if let greeting = fields.string("greeting", maxLength: 500) { result["greeting"] = .string(greeting) }
        if let instructions = fields.string("instructions", maxLength: 10_000, multiline: true) { result["instructions"] = .string(instructions) }
        switch fields.object["escalation_triggers"] {
        case nil, .null?: break
        case .array(let triggers)?:
            let texts = triggers.compactMap(\.stringValue).map { $0.trimmingCharacters(in: .whitespaces) }
            if texts.count != triggers.count || texts.contains(where: { $0.isEmpty || $0.count > 100 }) || texts.count > 20 {
                fields.fail("escalation_triggers", "must be at most 20 texts of 1 to 100 characters")
            } else {
                result["escalation_triggers"] = .array(texts.map(JSONValue.string))
            }
        default: fields.fail("escalation_triggers", "must be an array of texts")
        }
        return .object(result)
    }

    /// What Retell is told: the agent's voice, and a prompt built from its behaviour and the business.
    static func retellSpec(_ agent: Agent, businessName: String) -> RetellClient.AgentSpec {
        let behavior = agent.behaviorSettings
        var prompt =
            "You are \(agent.name), the phone receptionist of \(businessName). Answer callers' questions, take their "
            + "name and reason for calling, and book an appointment when they want one."
        if let personality = behavior["personality"]?.stringValue { prompt += " Your personality is \(personality)." }
        if let style = behavior["conversation_style"]?.stringValue { prompt += " Your conversation style is \(style)." }
        if let triggers = behavior["escalation_triggers"]?.arrayValue?.compactMap(\.stringValue), !triggers.isEmpty {
            prompt += " Offer to pass the caller to a person if they seem: \(triggers.joined(separator: ", "))."
        }
        if let instructions = behavior["instructions"]?.stringValue { prompt += "\n\n" + instructions }
        return RetellClient.AgentSpec(
            name: "\(businessName): \(agent.name)", voiceID: agent.voiceSettings["voice_id"]?.stringValue ?? defaultVoice,
            voiceSpeed: agent.voiceSettings["speed"]?.doubleValue, prompt: prompt,
            greeting: behavior["greeting"]?.stringValue ?? "Thank you for calling \(businessName). How can I help you today?")
    }

    /// The agent that takes a call at `now`: the first started one (oldest first) whose working
    /// hours, in the business's time zone, include `now`. An agent without hours is always working.
    static func agentOnDuty(_ agents: [Agent], at now: Date, timeZone: TimeZone) -> Agent? {
        agents.first { agent in
            agent.isActive && (OpeningHours(agent.workingHours, timeZone: timeZone)?.isOpen(at: now) ?? true)
        }
    }

    /// How a call is handled, decided when it rings.
    enum Route: Equatable {
        case ai(Agent.ID)
        case escalate(to: String)
        case announce
    }

    static func route(onDuty: Agent?, aiAvailable: Bool, escalationPhone: String?) -> Route {
        if let onDuty, aiAvailable, onDuty.retellAgentID != nil { return .ai(onDuty.id) }
        if let escalationPhone { return .escalate(to: escalationPhone) }
        return .announce
    }

    /// What a caller hears when no one can take the call.
    static func unavailableMessage(businessName: String) -> String {
        "Thank you for calling \(businessName). No one can take your call right now. Please call again later. Goodbye."
    }
}

extension Agent: Identifiable {}
