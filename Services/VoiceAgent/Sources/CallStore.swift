import CloudGreetCore
import Foundation
import Persistence
import ServiceClients

/// voice-agent's SQL for calls. Queries made for a request name the business; the call flow finds
/// calls by the provider's ids (Telnyx's call control id, Retell's call id), which only the signed
/// webhooks carry.
struct CallStore: Sendable {
    let db: any Database

    struct Filter {
        var leadID: String?
        var status: CallStatus?
        var direction: CallDirection?
        var start: Date?
        var end: Date?
    }

    /// Inserts the call unless one with its call control id exists; returns the stored call either way.
    func insertOnce(_ new: Call) async throws -> (call: Call, created: Bool) {
        let call = new
        let inserted = try await db.query(
            """
            INSERT INTO calls (id, business_id, agent_id, lead_id, phone, to_number, direction, status, stage, call_control_id,
                               answered_by, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
            ON CONFLICT (call_control_id) DO NOTHING RETURNING id
            """,
            [
                .text(call.id), .text(call.businessID), SQLValue(call.agentID), SQLValue(call.leadID), .text(call.phone),
                SQLValue(call.toNumber), .text(call.direction.rawValue), .text(call.status.rawValue), .text(call.stage.rawValue),
                .text(call.callControlID), SQLValue(call.answeredBy?.rawValue), SQLValue(call.createdAt),
            ])
        if !inserted.isEmpty { return (call, true) }
        guard let existing = try await self.call(callControlID: new.callControlID) else { throw DatabaseError.missingColumn("call_control_id") }
        return (existing, false)
    }

    /// One column written by a step of the call flow: `set` replaces the value, `fill` writes it only
    /// where there is none yet.
    enum Write {
        case set(String, SQLValue)
        case fill(String, SQLValue)
    }

    /// The columns that hold what a caller said or who they are, emptied when they are erased.
    static let personal: Set<String> = ["transcript", "recording_url", "summary", "analysis"]

    /// Writes only the columns a step owns, so that steps working on one call at the same time (a
    /// Retell analysis and a Telnyx recording, or two replicas) never undo each other's writes. An
    /// erased call's personal columns stay empty whatever arrives later.
    func update(_ id: String, _ writes: [Write], now: Date = Date(), on db: (any SQLExecutor)? = nil) async throws {
        var assignments: [String] = []
        var binds: [SQLValue] = []
        for write in writes + [.set("updated_at", SQLValue(now))] {
            let (column, value) =
                switch write {
                case .set(let column, let value), .fill(let column, let value): (column, value)
                }
            binds.append(value)
            var written = "$\(binds.count)"
            if case .fill = write { written = "COALESCE(\(column), \(written))" }
            if Self.personal.contains(column) { written = "CASE WHEN erased_at IS NULL THEN \(written) END" }
            assignments.append("\(column) = \(written)")
        }
        binds.append(.text(id))
        try await (db ?? self.db).query("UPDATE calls SET \(assignments.joined(separator: ", ")) WHERE id = $\(binds.count)", binds)
    }

    /// Erases a person from the business's calls (those linked to the lead, and those from its
    /// phone): the number and everything said go, the call and its figures stay. Returns the ids
    /// the providers' webhooks know these calls by.
    func erase(_ erasure: Erasure, now: Date = Date(), on db: any SQLExecutor) async throws -> [String] {
        let rows = try await db.query(
            """
            UPDATE calls SET phone = '', transcript = NULL, recording_url = NULL, summary = NULL, analysis = NULL,
                erased_at = COALESCE(erased_at, $1), updated_at = $1
            WHERE business_id = $2 AND (lead_id = $3 OR phone = $4)
            RETURNING id, call_control_id, retell_call_id
            """, [SQLValue(now), .text(erasure.businessID), .text(erasure.leadID), SQLValue(erasure.phone)])
        return rows.flatMap { row in ["id", "call_control_id", "retell_call_id"].compactMap { row.string($0) } }
    }

    func call(callControlID: String) async throws -> Call? {
        try await db.first("SELECT * FROM calls WHERE call_control_id = $1", [.text(callControlID)]).map(Call.init(row:))
    }

    /// The call Retell knows as `retellCallID`, or ours named in the call's metadata.
    func call(retellCallID: String?, ourID: String?) async throws -> Call? {
        try await db.first(
            "SELECT * FROM calls WHERE retell_call_id = $1 OR id = $2 LIMIT 1", [SQLValue(retellCallID), SQLValue(ourID)]
        ).map(Call.init(row:))
    }

    func call(id: String, businessID: String) async throws -> Call? {
        try await db.first("SELECT * FROM calls WHERE id = $1 AND business_id = $2", [.text(id), .text(businessID)]).map(Call.init(row:))
    }

    func calls(businessID: String, filter: Filter, page: Page) async throws -> Paged<Call> {
        var sql = SQLFilter("business_id = ?", .text(businessID))
        sql.add("lead_id = ?", filter.leadID.map { .text($0) })
        sql.add("status = ?", filter.status.map { .text($0.rawValue) })
        sql.add("direction = ?", filter.direction.map { .text($0.rawValue) })
        sql.add("created_at >= ?", filter.start.map { SQLValue($0) })
        sql.add("created_at < ?", filter.end.map { SQLValue($0) })
        return try await db.page("calls", where: sql, orderBy: "created_at DESC, id DESC", page).map(Call.init(row:))
    }

    /// For analytics: the business's calls created in `period`, those created `today`, and the
    /// completed ones with their total duration.
    func stats(businessID: String, period: Range<Date>?, today: Range<Date>) async throws -> CallStats {
        var sql = SQLFilter("business_id = ?", .text(businessID))
        sql.add("created_at", in: period)
        let todayStart = sql.binds.count + 1
        let row = try await db.first(
            """
            SELECT COUNT(*) AS total,
                   CAST(COALESCE(SUM(CASE WHEN created_at >= $\(todayStart) AND created_at < $\(todayStart + 1) THEN 1 ELSE 0 END), 0) AS BIGINT)
                       AS today,
                   CAST(COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS completed,
                   CAST(COALESCE(SUM(CASE WHEN status = 'completed' THEN COALESCE(duration, 0) ELSE 0 END), 0) AS BIGINT) AS seconds
            FROM calls WHERE \(sql.sql)
            """, sql.binds + [SQLValue(today.lowerBound), SQLValue(today.upperBound)])
        return CallStats(
            total: row?.int("total") ?? 0, today: row?.int("today") ?? 0, completed: row?.int("completed") ?? 0,
            completedSeconds: row?.int("seconds") ?? 0)
    }

    /// For an agent's status: calls in progress, and calls since `since`.
    func counts(agentID: String, since: Date) async throws -> (active: Int, since: Int) {
        let active = try await db.count(
            "SELECT COUNT(*) AS n FROM calls WHERE agent_id = $1 AND status = 'in_progress'", [.text(agentID)])
        let recent = try await db.count(
            "SELECT COUNT(*) AS n FROM calls WHERE agent_id = $1 AND created_at >= $2", [.text(agentID), SQLValue(since)])
        return (active, recent)
    }
}
