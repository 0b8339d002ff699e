import CloudGreetCore
import Foundation
import Logging
import Persistence

/// Provider webhooks, kept in the service's `webhook_events` table under the provider's event id
/// before they are answered, and worked afterwards: the answer is quick whatever the work depends
/// on, a redelivered event is a no-op, and work that fails is retried with backoff and parked as
/// `failed` after its last try, never lost. The route verifies the signature and parses the body;
/// this type stores, claims and works. `Event` is whatever the service makes of a stored payload.
public struct WebhookInbox<Event: Sendable>: Sendable {
    /// The table, for the service's own migrations.
    public static var schema: [String] {
        [
            """
            CREATE TABLE webhook_events (
                id TEXT PRIMARY KEY, type TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL,
                attempts BIGINT NOT NULL, next_attempt_at BIGINT NOT NULL, claimed_until BIGINT, error TEXT,
                created_at BIGINT NOT NULL, processed_at BIGINT)
            """,
            "CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at)",
        ]
    }

    /// Pending until worked, `processing` while claimed or waiting for another try, `failed` after
    /// the last try (eight, over about eight minutes, by default), else `done`; `erased` when the
    /// person it was about was erased before it was worked. A worked event keeps only its id (for
    /// spotting redeliveries), not its payload, which may name a caller or hold what they said.
    public let queue: LeasedQueue
    private let read: @Sendable (_ id: String, _ payload: JSONValue) -> Event?
    private let metrics: ServiceMetrics
    private let logger: Logger

    /// `read` turns a stored payload (with the id it was stored under) back into an event.
    public init(
        db: any Database, retry: RetryPolicy = RetryPolicy(attempts: 8, baseDelay: .seconds(2), maxDelay: .seconds(300)),
        metrics: ServiceMetrics, logger: Logger, read: @escaping @Sendable (String, JSONValue) -> Event?
    ) {
        queue = LeasedQueue(
            db: db,
            layout: .init(table: "webhook_events", dueColumn: "next_attempt_at", ready: "pending", leased: "processing", dead: "failed"),
            lease: 60, retry: retry)
        self.read = read
        self.metrics = metrics
        self.logger = logger
    }

    /// Stores the event; false when an event with this id was stored before (a redelivery).
    public func record(id: String, type: String, payload: JSONValue, now: Date = Date()) async throws -> Bool {
        let rows = try await queue.db.query(
            """
            INSERT INTO webhook_events (id, type, payload, status, attempts, next_attempt_at, created_at)
            VALUES ($1, $2, $3, 'pending', 0, $4, $4) ON CONFLICT (id) DO NOTHING RETURNING id
            """, [.text(id), .text(type), SQLValue(payload), SQLValue(now)])
        return !rows.isEmpty
    }

    /// Empties the payloads that mention any of `values` (a phone number, an email address, an id):
    /// part of erasing a person. An event not yet worked is not worked any more (`erased`).
    public func erase(mentioning values: [String], on db: any SQLExecutor) async throws {
        guard !values.isEmpty else { return }
        var filter = SQLFilter("payload <> ?", Self.emptyPayload)
        filter.add("payload", containingAnyOf: values)
        try await db.query(
            """
            UPDATE webhook_events SET payload = $1, status = CASE WHEN status = 'done' THEN status ELSE 'erased' END,
                claimed_until = NULL
            WHERE \(filter.sql)
            """, filter.binds)
    }

    private static var emptyPayload: SQLValue { .text("{}") }

    /// Works every due event with `handle`; returns how many were claimed. Events with the same
    /// `partition` key (one call, say) are worked one after another in the order they came; events of
    /// different keys at the same time, so one slow provider call does not hold up the rest. Without
    /// a partition everything is worked in order.
    @discardableResult
    public func drain(
        now: Date = Date(), partition: (@Sendable (Event) -> String)? = nil, handle: @escaping @Sendable (Event) async throws -> Void
    ) async -> Int {
        let claims: [LeasedQueue.Claim]
        do {
            claims = try await queue.claim(now: now)
        } catch {
            logger.error("could not claim webhook events")
            return 0
        }
        var order: [String] = []
        var groups: [String: [(LeasedQueue.Claim, Event)]] = [:]
        for claim in claims {
            guard let payload = claim.row.string("payload"), let json = try? JSONValue.decode(Array(payload.utf8)),
                let event = read(claim.id, json)
            else {
                // Stored events were read once already: one that no longer reads is parked, not retried.
                try? await queue.finish(claim.id, status: "failed", setting: [("error", "unreadable payload")])
                await count("dead")
                continue
            }
            let key = partition?(event) ?? ""
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append((claim, event))
        }
        await withTaskGroup(of: Void.self) { tasks in
            for key in order {
                let group = groups[key] ?? []
                tasks.addTask {
                    for (claim, event) in group { await work(claim, event, now: now, handle: handle) }
                }
            }
        }
        return claims.count
    }

    private func work(_ claim: LeasedQueue.Claim, _ event: Event, now: Date, handle: @Sendable (Event) async throws -> Void) async {
        do {
            try await handle(event)
            try await queue.finish(claim.id, status: "done", setting: [("processed_at", SQLValue(now)), ("payload", Self.emptyPayload)])
            await count("done")
        } catch {
            let outcome = try? await queue.fail(claim, error: String(describing: type(of: error)), now: now)
            logger.warning(
                "webhook event failed",
                metadata: [
                    "event_id": .string(claim.id), "attempt": .stringConvertible(claim.attempts),
                    "final": .stringConvertible(outcome == .dead),
                ])
            await count(outcome == .dead ? "dead" : "retried")
        }
    }

    private func count(_ outcome: String) async {
        metrics.increment("queue_items_total", labels: ["queue": "webhook_events", "outcome": outcome])
    }
}
