import CloudGreetCore
import Foundation

/// Durable work kept in a table: any number of workers, in any number of replicas, claim due rows
/// for a lease and then finish or fail them. A claim not finished within its lease is taken again;
/// a failure waits out the retry policy's backoff and, after its last attempt, is parked as dead
/// instead of tried forever. PostgreSQL claims with `FOR UPDATE SKIP LOCKED`; SQLite's single writer
/// runs claims one at a time.
///
/// The table keeps its own name, columns and status words (`Layout`); the queue needs `id`,
/// `status`, `attempts`, `claimed_until`, `error` and a due-time column. A retry keeps the due time
/// (callers may compare it with their own data) and waits in `claimed_until`.
public struct LeasedQueue: Sendable {
    public struct Layout: Sendable {
        public var table: String
        public var dueColumn: String
        /// Waiting for its due time.
        public var ready: String
        /// Claimed by a worker, or waiting for its next try (until `claimed_until`).
        public var leased: String
        /// Given up after the last attempt.
        public var dead: String
        /// An extra SQL condition on the rows that belong to this queue.
        public var condition: String?

        public init(table: String, dueColumn: String, ready: String, leased: String, dead: String, condition: String? = nil) {
            self.table = table
            self.dueColumn = dueColumn
            self.ready = ready
            self.leased = leased
            self.dead = dead
            self.condition = condition
        }
    }

    public struct Claim: Sendable {
        public let id: String
        /// This try's number, from 1.
        public let attempts: Int
        /// The whole row, for the worker's own columns.
        public let row: SQLRow
    }

    public enum Failure: Sendable, Equatable {
        case retry(at: Date)
        case dead
    }

    public let db: any Database
    public let layout: Layout
    public let lease: TimeInterval
    /// `attempts` is how many tries an item gets before it is dead; `delay(after:)` the backoff.
    public let retry: RetryPolicy

    public init(db: any Database, layout: Layout, lease: TimeInterval = 60, retry: RetryPolicy) {
        self.db = db
        self.layout = layout
        self.lease = lease
        self.retry = retry
    }

    private var claimable: String {
        let due = "((status = '\(layout.ready)' AND \(layout.dueColumn) <= $1) OR (status = '\(layout.leased)' AND claimed_until < $1))"
        return layout.condition.map { "(\($0)) AND \(due)" } ?? due
    }

    /// Leases up to `limit` due items to the caller; no other worker gets them until the lease ends.
    /// `matching` narrows the claim to the items whose column has that value (one erasure's parts).
    public func claim(now: Date = Date(), limit: Int = 20, matching: (column: String, value: String)? = nil) async throws -> [Claim] {
        let table = layout.table
        let condition = claimable
        let leased = layout.leased
        let until = SQLValue(now.addingTimeInterval(lease))
        return try await db.transaction { db in
            let skipLocked = db.engine == .postgres ? "FOR UPDATE SKIP LOCKED" : ""
            let narrowed = matching.map { " AND \($0.column) = $2" } ?? ""
            let rows = try await db.query(
                "SELECT id FROM \(table) WHERE \(condition)\(narrowed) ORDER BY \(layout.dueColumn), id LIMIT \(limit) \(skipLocked)",
                [SQLValue(now)] + (matching.map { [SQLValue.text($0.value)] } ?? []))
            var claims: [Claim] = []
            for row in rows {
                guard let id = row.string("id"),
                    let updated = try await db.first(
                        """
                        UPDATE \(table) SET status = '\(leased)', claimed_until = $2, attempts = attempts + 1
                        WHERE id = $3 AND \(condition) RETURNING *
                        """, [SQLValue(now), until, .text(id)])
                else { continue }
                claims.append(Claim(id: id, attempts: updated.int("attempts") ?? 1, row: updated))
            }
            return claims
        }
    }

    /// Ends an item with `status`, setting the worker's own columns in the same statement.
    public func finish(_ id: String, status: String, setting columns: [(String, SQLValue)] = []) async throws {
        var assignments = ["status = $1", "claimed_until = NULL"]
        var binds: [SQLValue] = [.text(status)]
        for (column, value) in columns {
            binds.append(value)
            assignments.append("\(column) = $\(binds.count)")
        }
        binds.append(.text(id))
        try await db.query("UPDATE \(layout.table) SET \(assignments.joined(separator: ", ")) WHERE id = $\(binds.count)", binds)
    }

    /// Records a failed try: another after the backoff, or, after the last attempt, dead.
    @discardableResult
    public func fail(_ claim: Claim, error: String, now: Date = Date()) async throws -> Failure {
        if claim.attempts >= retry.attempts {
            try await db.query(
                "UPDATE \(layout.table) SET status = $1, claimed_until = NULL, error = $2 WHERE id = $3",
                [.text(layout.dead), .text(error), .text(claim.id)])
            return .dead
        }
        let wait = retry.delay(after: claim.attempts)
        let at = now.addingTimeInterval(Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
        try await db.query(
            "UPDATE \(layout.table) SET claimed_until = $1, error = $2 WHERE id = $3", [SQLValue(at), .text(error), .text(claim.id)])
        return .retry(at: at)
    }

    /// How many of the queue's items are in each status, for `/metrics`.
    public func counts() async throws -> [String: Int] {
        let filter = layout.condition.map { "WHERE \($0)" } ?? ""
        let rows = try await db.query("SELECT status, COUNT(*) AS n FROM \(layout.table) \(filter) GROUP BY status")
        var counts: [String: Int] = [:]
        for row in rows { if let status = row.string("status") { counts[status] = row.int("n") ?? 0 } }
        return counts
    }
}
