import CloudGreetCore
import Foundation
import Providers
import ServiceClients

/// voice-agent's application layer for agents: starting (which gives the agent to Retell when
/// Retell is configured), stopping, changing, and the live status.
struct Agents: Sendable {
    let store: AgentStore
    let calls: CallStore
    let businesses: BusinessDirectory
    let retell: RetellClient?

    /// Starts the agent; starting a started one changes nothing. Retell failing is a 502 and the
    /// agent stays stopped.
    func start(_ agent: Agent, requestID: String) async throws -> Agent {
        guard !agent.isActive else { return agent }
        var started = agent
        try await syncRetell(&started, requestID: requestID)
        started.setStarted(Date())
        started.updatedAt = Date()
        try await store.update(started)
        return started
    }

    /// Stops the agent; stopping a stopped one changes nothing. Its Retell agent is kept for the next start.
    func stop(_ agent: Agent) async throws -> Agent {
        guard agent.isActive else { return agent }
        var stopped = agent
        stopped.setStarted(nil)
        stopped.updatedAt = Date()
        try await store.update(stopped)
        return stopped
    }

    /// Saves a changed agent; a started one is updated at Retell first, and a Retell failure changes nothing.
    func change(_ agent: Agent, requestID: String) async throws -> Agent {
        var changed = agent
        if changed.isActive { try await syncRetell(&changed, requestID: requestID) }
        changed.updatedAt = Date()
        try await store.update(changed)
        return changed
    }

    /// `active_calls` (in progress now), `total_calls_today` (since midnight in the business's time
    /// zone) and `uptime` (milliseconds since started, 0 when stopped).
    func status(_ agent: Agent, requestID: String, now: Date = Date()) async throws -> JSONValue {
        let business = try await businesses.business(agent.businessID, requestID: requestID)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = business.timeZone
        let counts = try await calls.counts(agentID: agent.id, since: calendar.startOfDay(for: now))
        let uptime = agent.startedAt.map { max(0, Int(now.timeIntervalSince($0) * 1000)) } ?? 0
        return [
            "id": .string(agent.id), "status": .string(agent.status.rawValue), "active_calls": JSONValue(counts.active),
            "total_calls_today": JSONValue(counts.since), "uptime": JSONValue(uptime),
        ]
    }

    private func syncRetell(_ agent: inout Agent, requestID: String) async throws {
        guard let retell else { return }
        let business = try await businesses.business(agent.businessID, requestID: requestID)
        let existing = agent.retellAgentID.flatMap { id in agent.retellLLMID.map { RetellClient.AgentIDs(agentID: id, llmID: $0) } }
        do {
            let ids = try await retell.upsertAgent(AgentRules.retellSpec(agent, businessName: business.name), existing: existing)
            agent.retellAgentID = ids.agentID
            agent.retellLLMID = ids.llmID
        } catch {
            throw APIError(502, .externalServiceError, "Retell did not accept the agent", details: ["agent_id": .string(agent.id)])
        }
    }
}
