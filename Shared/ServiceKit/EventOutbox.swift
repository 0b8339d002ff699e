import CloudGreetCore
import Foundation
import Logging
import Persistence
import ServiceClients
import Synchronization

/// Events for the businesses' webhooks, kept in the producing service's own `event_outbox` table in
/// the same transaction as the change they report: a change rolled back leaves no event, and a
/// crash after the commit leaves the event to be handed on when the service is back. `relay`
/// hands the oldest events to messaging as one batch, in the order they were recorded, and deletes
/// them once messaging has kept them. It takes no locks: replicas relaying the same batch at once
/// only send messaging an event twice, which it keeps once; a later event never overtakes an
/// earlier one, since each pass starts from the oldest.
public final class EventOutbox: Sendable {
    public static var schema: [String] {
        [
            """
            CREATE TABLE event_outbox (
                id TEXT PRIMARY KEY, business_id TEXT NOT NULL, type TEXT NOT NULL, resource_id TEXT NOT NULL, data TEXT NOT NULL,
                created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX event_outbox_order ON event_outbox (created_at, id)",
        ]
    }

    public let db: any Database
    private let logger: Logger
    /// After a failed pass the relay waits (1 s doubling to a minute) before the next.
    private let backoff = RetryPolicy(attempts: .max, baseDelay: .seconds(1), maxDelay: .seconds(60))
    private let failures = Mutex<(count: Int, notBefore: Date)>((0, .distantPast))

    public init(db: any Database, logger: Logger) {
        self.db = db
        self.logger = logger
    }

    /// Records `type` about a resource (`data`, as the API shows it) on `db`, the change's transaction.
    public func record(
        _ type: String, businessID: String, resourceID: String, data: JSONValue, now: Date = Date(), on db: any SQLExecutor
    ) async throws {
        try await db.query(
            "INSERT INTO event_outbox (id, business_id, type, resource_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            [.text(ResourceID.make(.event)), .text(businessID), .text(type), .text(resourceID), SQLValue(data), SQLValue(now)])
    }

    /// Drops the events not handed on yet that mention any of `values` (a lead id, a phone number):
    /// part of erasing a person, so that nothing about them leaves afterwards.
    public func erase(businessID: String, mentioning values: [String], on db: any SQLExecutor) async throws {
        guard !values.isEmpty else { return }
        var filter = SQLFilter("business_id = ?", .text(businessID))
        filter.add("data", containingAnyOf: values)
        try await db.query("DELETE FROM event_outbox WHERE \(filter.sql)", filter.binds)
    }

    /// One pass: publishes up to `limit` of the oldest events and deletes them. Returns how many
    /// were handed on.
    @discardableResult
    public func relay(to events: EventsClient, now: Date = Date(), limit: Int = 100) async -> Int {
        guard failures.withLock({ now >= $0.notBefore }) else { return 0 }
        do {
            let rows = try await db.query("SELECT * FROM event_outbox ORDER BY created_at, id LIMIT \(limit)")
            guard !rows.isEmpty else { return 0 }
            let batch = rows.compactMap(BusinessEvent.init(row:))
            try await events.publish(batch, ResourceID.make(.request))
            let ids = rows.compactMap { $0.string("id") }
            let placeholders = ids.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
            try await db.query("DELETE FROM event_outbox WHERE id IN (\(placeholders))", ids.map { .text($0) })
            failures.withLock { $0 = (0, .distantPast) }
            return ids.count
        } catch {
            let attempt = failures.withLock { state -> Int in
                state.count += 1
                let wait = backoff.delay(after: state.count)
                state.notBefore = now.addingTimeInterval(Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18)
                return state.count
            }
            logger.warning("outbox events wait for messaging", metadata: ["failed_passes": .stringConvertible(attempt)])
            return 0
        }
    }
}

extension BusinessEvent {
    /// An event as `event_outbox` and messaging's `outbound_events` keep it (the same columns).
    public init?(row: SQLRow) {
        guard let id = row.string("id"), let business = row.string("business_id"), let type = row.string("type"),
            let resource = row.string("resource_id"), let created = row.date("created_at"),
            let data = row.string("data").flatMap({ try? JSONValue.decode(Array($0.utf8)) })
        else { return nil }
        self.init(id: id, businessID: business, type: type, resourceID: resource, createdAt: created, data: data)
    }
}
