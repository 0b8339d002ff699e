import CloudGreetCore
import Foundation
import Persistence
import ServiceClients
import ServiceKit

/// A business's webhook endpoint. The secret signs every delivery; clients see it once, when the
/// endpoint is made (it has to be kept readable to sign with, unlike an API key's hash).
struct WebhookEndpoint: Sendable {
    enum Status: String, Sendable { case active, disabled }

    var id: String
    var businessID: String
    var url: String
    var events: [String]
    var secret: String
    var status: Status
    /// Since when every delivery has failed; nil after any success.
    var failingSince: Date?
    var createdAt: Date

    /// As clients see it: never the secret.
    var json: JSONValue {
        [
            "id": .string(id), "business_id": .string(businessID), "url": .string(url), "events": .array(events.map(JSONValue.string)),
            "status": .string(status.rawValue), "failing_since": JSONValue(failingSince), "created_at": JSONValue(createdAt),
        ]
    }

    func wants(_ type: String) -> Bool { status == .active && events.contains(type) }
}

extension WebhookEndpoint {
    init(row: SQLRow) throws {
        let events = row.string("events").flatMap { try? JSONValue.decode(Array($0.utf8)) }?.arrayValue?.compactMap(\.stringValue)
        self.init(
            id: try row.required("id"), businessID: try row.required("business_id"), url: try row.required("url"), events: events ?? [],
            secret: try row.required("secret"), status: try row.required("status", as: Status.self), failingSince: row.date("failing_since"),
            createdAt: try row.requiredDate("created_at"))
    }
}

/// messaging's SQL for outbound webhooks: endpoints, the events they are told about, one delivery
/// per endpoint and event (a leased queue), and every attempt (the delivery log).
struct WebhookStore: Sendable {
    let db: any Database

    static let schema = [
        """
        CREATE TABLE webhook_endpoints (
            id TEXT PRIMARY KEY, business_id TEXT NOT NULL, url TEXT NOT NULL, events TEXT NOT NULL, secret TEXT NOT NULL,
            status TEXT NOT NULL, failing_since BIGINT, disabled_at BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
        """,
        "CREATE INDEX webhook_endpoints_business ON webhook_endpoints (business_id, created_at, id)",
        """
        CREATE TABLE outbound_events (
            id TEXT PRIMARY KEY, business_id TEXT NOT NULL, type TEXT NOT NULL, resource_id TEXT NOT NULL, data TEXT NOT NULL,
            created_at BIGINT NOT NULL)
        """,
        "CREATE INDEX outbound_events_business ON outbound_events (business_id, created_at)",
        """
        CREATE TABLE webhook_deliveries (
            id TEXT PRIMARY KEY, endpoint_id TEXT NOT NULL, event_id TEXT NOT NULL, business_id TEXT NOT NULL,
            resource_id TEXT NOT NULL, status TEXT NOT NULL, due_at BIGINT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0,
            claimed_until BIGINT, error TEXT, give_up_at BIGINT NOT NULL, delivered_at BIGINT, created_at BIGINT NOT NULL)
        """,
        "CREATE UNIQUE INDEX webhook_deliveries_event ON webhook_deliveries (endpoint_id, event_id)",
        "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, due_at)",
        "CREATE INDEX webhook_deliveries_resource ON webhook_deliveries (endpoint_id, resource_id, status, event_id)",
        "CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id)",
        """
        CREATE TABLE webhook_attempts (
            id TEXT PRIMARY KEY, endpoint_id TEXT NOT NULL, business_id TEXT NOT NULL, event_id TEXT NOT NULL,
            event_type TEXT NOT NULL, attempt BIGINT NOT NULL, status_code BIGINT, duration_ms BIGINT NOT NULL, error TEXT,
            created_at BIGINT NOT NULL)
        """,
        "CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, created_at, id)",
        "CREATE INDEX webhook_attempts_created ON webhook_attempts (created_at)",
        "CREATE INDEX outbound_events_created ON outbound_events (created_at)",
        "CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at)",
    ]

    // MARK: endpoints

    func insert(_ endpoint: WebhookEndpoint) async throws {
        try await db.query(
            """
            INSERT INTO webhook_endpoints (id, business_id, url, events, secret, status, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
            """,
            [
                .text(endpoint.id), .text(endpoint.businessID), .text(endpoint.url), SQLValue(JSONValue.array(endpoint.events.map(JSONValue.string))),
                .text(endpoint.secret), .text(endpoint.status.rawValue), SQLValue(endpoint.createdAt),
            ])
    }

    func endpoint(id: String, businessID: String) async throws -> WebhookEndpoint? {
        try await db.first("SELECT * FROM webhook_endpoints WHERE id = $1 AND business_id = $2", [.text(id), .text(businessID)])
            .map(WebhookEndpoint.init(row:))
    }

    func endpoints(businessID: String, page: Page) async throws -> Paged<WebhookEndpoint> {
        try await db.page(
            "webhook_endpoints", where: SQLFilter("business_id = ?", .text(businessID)), orderBy: "created_at DESC, id DESC", page
        ).map(WebhookEndpoint.init(row:))
    }

    /// The endpoint and everything about it go; deliveries not made yet are dropped with it.
    func delete(id: String, businessID: String) async throws -> Bool {
        try await db.transaction { db in
            guard
                try await !db.query(
                    "DELETE FROM webhook_endpoints WHERE id = $1 AND business_id = $2 RETURNING id", [.text(id), .text(businessID)]
                ).isEmpty
            else { return false }
            try await db.query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1", [.text(id)])
            try await db.query("DELETE FROM webhook_attempts WHERE endpoint_id = $1", [.text(id)])
            return true
        }
    }

    /// After a delivery: a success clears `failing_since`, a failure sets it if it is not set.
    /// Returns the endpoint as it now is.
    func recordOutcome(endpointID: String, succeeded: Bool, now: Date) async throws -> WebhookEndpoint? {
        let change = succeeded ? "failing_since = NULL" : "failing_since = COALESCE(failing_since, $2)"
        return try await db.first(
            "UPDATE webhook_endpoints SET \(change), updated_at = $2 WHERE id = $1 RETURNING *", [.text(endpointID), SQLValue(now)]
        ).map(WebhookEndpoint.init(row:))
    }

    /// Disables the endpoint; its deliveries not made yet fail. False when it was not active.
    func disable(_ endpoint: WebhookEndpoint, now: Date) async throws -> Bool {
        try await db.transaction { db in
            guard
                try await !db.query(
                    "UPDATE webhook_endpoints SET status = 'disabled', disabled_at = $2, updated_at = $2 WHERE id = $1 AND status = 'active' RETURNING id",
                    [.text(endpoint.id), SQLValue(now)]
                ).isEmpty
            else { return false }
            try await db.query(
                """
                UPDATE webhook_deliveries SET status = 'failed', claimed_until = NULL, error = 'endpoint disabled'
                WHERE endpoint_id = $1 AND status IN ('pending', 'sending')
                """, [.text(endpoint.id)])
            return true
        }
    }

    // MARK: events and deliveries

    /// Keeps the events (each once, by id) and queues one delivery per active endpoint of the
    /// business that subscribed to its type, all in one transaction.
    func intake(_ events: [BusinessEvent], retryFor: TimeInterval, now: Date = Date()) async throws {
        try await db.transaction { db in
            var endpoints: [String: [WebhookEndpoint]] = [:]
            for event in events {
                guard try await Self.keep(event, on: db) else { continue }  // kept before: its deliveries exist
                if endpoints[event.businessID] == nil {
                    endpoints[event.businessID] = try await db.query(
                        "SELECT * FROM webhook_endpoints WHERE business_id = $1 AND status = 'active'", [.text(event.businessID)]
                    ).map(WebhookEndpoint.init(row:))
                }
                for endpoint in endpoints[event.businessID] ?? [] where endpoint.wants(event.type) {
                    try await Self.queue(event, to: endpoint.id, retryFor: retryFor, now: now, on: db)
                }
            }
        }
    }

    /// Keeps the event unless one with its id is kept already; true when it is new.
    static func keep(_ event: BusinessEvent, on db: any SQLExecutor) async throws -> Bool {
        try await !db.query(
            """
            INSERT INTO outbound_events (id, business_id, type, resource_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (id) DO NOTHING RETURNING id
            """,
            [
                .text(event.id), .text(event.businessID), .text(event.type), .text(event.resourceID), SQLValue(event.data),
                SQLValue(event.createdAt),
            ]
        ).isEmpty
    }

    /// Queues `event` (kept in `outbound_events`) for one endpoint; sent again if it was sent before.
    static func queue(_ event: BusinessEvent, to endpointID: String, retryFor: TimeInterval, now: Date, on db: any SQLExecutor) async throws {
        try await db.query(
            """
            INSERT INTO webhook_deliveries (id, endpoint_id, event_id, business_id, resource_id, status, due_at, give_up_at, created_at)
            VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $6)
            ON CONFLICT (endpoint_id, event_id) DO UPDATE SET status = 'pending', due_at = $6, give_up_at = $7, claimed_until = NULL,
                error = NULL, attempts = 0
            """,
            [
                .text(ResourceID.make(.delivery)), .text(endpointID), .text(event.id), .text(event.businessID), .text(event.resourceID),
                SQLValue(now), SQLValue(now.addingTimeInterval(retryFor)),
            ])
    }

    func event(id: String, businessID: String) async throws -> BusinessEvent? {
        try await db.first("SELECT * FROM outbound_events WHERE id = $1 AND business_id = $2", [.text(id), .text(businessID)])
            .flatMap(BusinessEvent.init(row:))
    }

    /// Deliveries are worked as a leased queue: `pending` until due, `sending` while claimed or
    /// waiting for the next try, then `delivered`, or `failed` once retrying has run out (or the
    /// endpoint was disabled). A delivery waits while an earlier event about the same resource is
    /// still on its way to the same endpoint, so each endpoint gets a resource's events in order.
    func deliveryQueue(retryBase: TimeInterval) -> LeasedQueue {
        LeasedQueue(
            db: db,
            layout: .init(
                table: "webhook_deliveries", dueColumn: "due_at", ready: "pending", leased: "sending", dead: "failed",
                condition: """
                    NOT EXISTS (SELECT 1 FROM webhook_deliveries earlier WHERE earlier.endpoint_id = webhook_deliveries.endpoint_id
                        AND earlier.resource_id = webhook_deliveries.resource_id AND earlier.status IN ('pending', 'sending')
                        AND earlier.event_id < webhook_deliveries.event_id)
                    """),
            lease: 120, retry: RetryPolicy(attempts: .max, baseDelay: .seconds(retryBase), maxDelay: .seconds(3600)))
    }

    /// Part of erasing a person: the business's kept events that mention them go, with their
    /// deliveries not made yet. The log keeps only ids, types and statuses.
    func erase(businessID: String, mentioning values: [String], on db: any SQLExecutor) async throws {
        guard !values.isEmpty else { return }
        var filter = SQLFilter("business_id = ?", .text(businessID))
        filter.add("data", containingAnyOf: values)
        try await db.query(
            "DELETE FROM webhook_deliveries WHERE event_id IN (SELECT id FROM outbound_events WHERE \(filter.sql))", filter.binds)
        try await db.query("DELETE FROM outbound_events WHERE \(filter.sql)", filter.binds)
    }

    /// How long events, finished deliveries and the log are kept (and so may be redelivered).
    static let retention: TimeInterval = 30 * 86_400

    /// Drops what is older than `retention`: finished deliveries, attempts, and events with no
    /// delivery still on its way.
    func prune(now: Date = Date()) async throws {
        let before = SQLValue(now.addingTimeInterval(-Self.retention))
        try await db.query("DELETE FROM webhook_deliveries WHERE created_at < $1 AND status IN ('delivered', 'failed')", [before])
        try await db.query("DELETE FROM webhook_attempts WHERE created_at < $1", [before])
        try await db.query(
            """
            DELETE FROM outbound_events WHERE created_at < $1
                AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE webhook_deliveries.event_id = outbound_events.id)
            """, [before])
    }

    // MARK: the delivery log

    func recordAttempt(
        endpointID: String, event: BusinessEvent, attempt: Int, statusCode: Int?, duration: TimeInterval, error: String?, now: Date
    ) async throws {
        try await db.query(
            """
            INSERT INTO webhook_attempts (id, endpoint_id, business_id, event_id, event_type, attempt, status_code, duration_ms, error, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            [
                .text(ResourceID.make(.delivery)), .text(endpointID), .text(event.businessID), .text(event.id), .text(event.type),
                SQLValue(attempt), SQLValue(statusCode), SQLValue(Int((duration * 1000).rounded())), SQLValue(error), SQLValue(now),
            ])
    }

    func attempts(endpointID: String, page: Page) async throws -> Paged<JSONValue> {
        try await db.page(
            "webhook_attempts", where: SQLFilter("endpoint_id = ?", .text(endpointID)), orderBy: "created_at DESC, id DESC", page
        ).map { row in
            [
                "id": JSONValue(row.string("id")), "event_id": JSONValue(row.string("event_id")), "event_type": JSONValue(row.string("event_type")),
                "attempt": JSONValue(row.int("attempt")), "status_code": JSONValue(row.int("status_code")),
                "duration_ms": JSONValue(row.int("duration_ms")), "error": JSONValue(row.string("error")),
                "created_at": JSONValue(row.date("created_at")),
            ]
        }
    }
}
