import CloudGreetCore
import Foundation
import Logging
import Persistence
import ServiceClients
import ServiceKit

/// Missed-call text-backs, kept as a leased queue: `pending` until sent, `sending` while claimed or
/// waiting out a messaging outage, then `sent`, `skipped` (opted out or refused) or, after about two
/// hours of retries, `failed`. One per call, and at most one per caller and business in 12 hours.
struct TextBackStore: Sendable {
    let db: any Database
    static let window: TimeInterval = 12 * 3600

    var queue: LeasedQueue {
        LeasedQueue(
            db: db, layout: .init(table: "text_backs", dueColumn: "due_at", ready: "pending", leased: "sending", dead: "failed"),
            lease: 60, retry: RetryPolicy(attempts: 30, baseDelay: .seconds(2), maxDelay: .seconds(300)))
    }

    /// Erases a person from the text-backs: the number and text go, and one not sent yet never is.
    func erase(_ erasure: Erasure, on db: any SQLExecutor) async throws {
        try await db.query(
            """
            UPDATE text_backs SET phone = '', text = '', claimed_until = NULL,
                status = CASE WHEN status IN ('pending', 'sending') THEN 'skipped' ELSE status END,
                error = CASE WHEN status IN ('pending', 'sending') THEN 'erased' ELSE error END
            WHERE business_id = $1 AND (lead_id = $2 OR phone = $3)
            """, [.text(erasure.businessID), .text(erasure.leadID), SQLValue(erasure.phone)])
    }

    /// Queues `text` to the caller of a missed call; false when this call already has one or the
    /// caller got one from the business within the window.
    func enqueue(call: Call, text: String, now: Date = Date()) async throws -> Bool {
        try await db.transaction { db in
            // Two missed calls from one number, handled at once (by two replicas), must not both text.
            if db.engine == .postgres {
                try await db.query("SELECT pg_advisory_xact_lock(hashtext($1))", [.text("textback:\(call.businessID):\(call.phone)")])
            }
            let recent = try await db.count(
                "SELECT COUNT(*) AS n FROM text_backs WHERE business_id = $1 AND phone = $2 AND created_at > $3",
                [.text(call.businessID), .text(call.phone), SQLValue(now.addingTimeInterval(-Self.window))])
            guard recent == 0 else { return false }
            let inserted = try await db.query(
                """
                INSERT INTO text_backs (id, business_id, call_id, phone, lead_id, text, status, due_at, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) ON CONFLICT (call_id) DO NOTHING RETURNING id
                """,
                [
                    .text(ResourceID.make(.textBack)), .text(call.businessID), .text(call.id), .text(call.phone), SQLValue(call.leadID),
                    .text(text), SQLValue(now),
                ])
            return !inserted.isEmpty
        }
    }
}

/// Sends due text-backs through messaging. The idempotency key is the text-back's id, so a retry
/// after a time-out or a crash returns the first message instead of texting twice.
struct TextBackSender: Sendable {
    let store: TextBackStore
    let messaging: MessagingClient
    let metrics: ServiceMetrics
    let logger: Logger

    @discardableResult
    func tick(now: Date = Date()) async -> Int {
        await store.queue.work("text-backs", now: now, logger: logger) { claim in await send(claim, now: now) }
    }

    private func send(_ claim: LeasedQueue.Claim, now: Date) async {
        do {
            let sms = MessagingClient.SMS(
                businessID: try claim.row.required("business_id"), leadID: claim.row.string("lead_id"), to: try claim.row.required("phone"),
                text: try claim.row.required("text"), idempotencyKey: "textback:" + claim.id)
            do {
                let sent = try await messaging.sendSMS(sms, ResourceID.make(.request))
                guard sent.status != "queued" else { throw StillQueued() }
                try await store.queue.finish(claim.id, status: "sent", setting: [("message_id", .text(sent.id)), ("sent_at", SQLValue(now))])
                await count("sent")
            } catch ServiceCallError.optedOut {
                try await store.queue.finish(claim.id, status: "skipped", setting: [("error", "opted out")])
                await count("skipped")
            } catch ServiceCallError.validation, ServiceCallError.providerFailed {
                // Refused for good (a number messaging cannot text) or kept as failed by messaging.
                try await store.queue.finish(claim.id, status: "failed", setting: [("error", "refused by messaging")])
                await count("failed")
            }
        } catch {
            // Messaging or the database is down: tried again after the backoff, never dropped.
            let outcome = try? await store.queue.fail(claim, error: String(describing: type(of: error)), now: now)
            await count(outcome == .dead ? "dead" : "retried")
        }
    }

    struct StillQueued: Error {}

    private func count(_ outcome: String) async {
        metrics.increment("queue_items_total", labels: ["queue": "text_backs", "outcome": outcome])
    }
}
