import CloudGreetCore
import Foundation
import Persistence

/// voice-agent's SQL for agents. Every query names the business.
struct AgentStore: Sendable {
    let db: any Database

    func insert(_ agent: Agent) async throws {
        try await db.query(
            """
            INSERT INTO agents (id, business_id, name, voice_settings, behavior_settings, working_hours, is_active, started_at,
                                retell_agent_id, retell_llm_id, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
            """,
            [
                .text(agent.id), .text(agent.businessID), .text(agent.name), SQLValue(agent.voiceSettings), SQLValue(agent.behaviorSettings),
                agent.workingHours.map { SQLValue($0) } ?? .null, SQLValue(agent.isActive ? 1 : 0), SQLValue(agent.startedAt),
                SQLValue(agent.retellAgentID), SQLValue(agent.retellLLMID), SQLValue(agent.createdAt),
            ])
    }

    func update(_ agent: Agent) async throws {
        try await db.query(
            """
            UPDATE agents SET name = $1, voice_settings = $2, behavior_settings = $3, working_hours = $4, is_active = $5,
                started_at = $6, retell_agent_id = $7, retell_llm_id = $8, updated_at = $9
            WHERE id = $10 AND business_id = $11
            """,
            [
                .text(agent.name), SQLValue(agent.voiceSettings), SQLValue(agent.behaviorSettings),
                agent.workingHours.map { SQLValue($0) } ?? .null, SQLValue(agent.isActive ? 1 : 0), SQLValue(agent.startedAt),
                SQLValue(agent.retellAgentID), SQLValue(agent.retellLLMID), SQLValue(agent.updatedAt), .text(agent.id),
                .text(agent.businessID),
            ])
    }

    func agent(id: String, businessID: String) async throws -> Agent? {
        try await db.first("SELECT * FROM agents WHERE id = $1 AND business_id = $2", [.text(id), .text(businessID)]).map(Agent.init(row:))
    }

    func agents(businessID: String, status: AgentStatus?, page: Page) async throws -> Paged<Agent> {
        var sql = SQLFilter("business_id = ?", .text(businessID))
        sql.add("is_active = ?", status.map { SQLValue($0 == .active ? 1 : 0) })
        return try await db.page("agents", where: sql, orderBy: "created_at DESC, id DESC", page).map(Agent.init(row:))
    }

    /// The business's started agents, oldest first: the order in which they are offered calls.
    func started(businessID: String) async throws -> [Agent] {
        try await db.query(
            "SELECT * FROM agents WHERE business_id = $1 AND is_active = 1 ORDER BY created_at, id LIMIT 50", [.text(businessID)]
        ).map(Agent.init(row:))
    }

    func delete(id: String, businessID: String) async throws -> Bool {
        try await !db.query("DELETE FROM agents WHERE id = $1 AND business_id = $2 RETURNING id", [.text(id), .text(businessID)]).isEmpty
    }
}
