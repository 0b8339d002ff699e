import CloudGreetCore
import Foundation
import Logging
import Persistence
import ServiceClients
import ServiceKit

/// Telnyx webhooks are stored before they are answered and worked here afterwards, so the answer
/// is quick whatever crm, identity or Telnyx are doing, and an event whose work fails is tried
/// again (with backoff, see `InboxStore.queue`) and parked after its last try, never lost. Every step is idempotent, keyed by
/// the event id, so a retry never stores or sends twice.
actor WebhookInbox {
    private let store: InboxStore
    private let sms: SMSStore
    private let outbox: SMSOutbox
    private let businesses: BusinessDirectory
    private let crm: CRMClient
    private let metrics: ServiceMetrics
    private let logger: Logger

    init(
        store: InboxStore, sms: SMSStore, outbox: SMSOutbox, businesses: BusinessDirectory, crm: CRMClient, metrics: ServiceMetrics,
        logger: Logger
    ) {
        self.store = store
        self.sms = sms
        self.outbox = outbox
        self.businesses = businesses
        self.crm = crm
        self.metrics = metrics
        self.logger = logger
    }

    /// Works every event that is due.
    func drain(now: Date = Date()) async {
        let events: [InboxStore.Claimed]
        do {
            events = try await store.claim(now: now)
        } catch {
            logger.error("could not claim webhook events")
            return
        }
        for event in events {
            do {
                try await handle(event.event)
                try await store.finish(event.claim.id, now: now)
                await metrics.increment("queue_items_total", labels: ["queue": "webhook_events", "outcome": "done"])
            } catch {
                let outcome = try? await store.queue.fail(event.claim, error: String(describing: type(of: error)), now: now)
                logger.warning(
                    "webhook event failed",
                    metadata: [
                        "event_id": .string(event.event.id), "attempt": .stringConvertible(event.claim.attempts),
                        "final": .stringConvertible(outcome == .dead),
                    ])
                await metrics.increment(
                    "queue_items_total", labels: ["queue": "webhook_events", "outcome": outcome == .dead ? "dead" : "retried"])
            }
        }
    }

    private func handle(_ event: TelnyxEvent) async throws {
        let requestID = ResourceID.make(.request)
        switch event.type {
        case "message.received": try await received(event, requestID: requestID)
        case "message.sent", "message.finalized": try await delivery(event)
        default: break  // other event types are stored and acknowledged, nothing more
        }
    }

    private func received(_ event: TelnyxEvent, requestID: String) async throws {
        guard let to = event.to.flatMap({ Contact.normalizePhone($0) }), let from = event.from.flatMap({ Contact.normalizePhone($0) })
        else { return }
        guard let business = try await businesses.business(phoneNumber: to, requestID: requestID) else {
            logger.notice("inbound text for a number no business owns", metadata: ["to": .string(Contact.maskPhone(to))])
            return
        }
        let leadID = try await crm.upsertLead(business.id, from, "sms", requestID).lead.id
        let text = event.text ?? ""
        try await sms.insertInbound(
            businessID: business.id, leadID: leadID, phone: from, text: text,
            providerMessageID: event.messageID, key: "in:" + event.id)
        let reply: String?
        switch Keyword.classify(text) {
        case .optOut:
            try await sms.optOut(businessID: business.id, phone: from)
            reply = nil
        case .optIn:
            try await sms.optIn(businessID: business.id, phone: from)
            reply = nil
        case .help:
            reply = Keyword.helpReply(businessName: business.name)
        case .none:
            reply = business.settings["sms_auto_reply"]?.stringValue
        }
        guard let reply, !(try await sms.isOptedOut(businessID: business.id, phone: from)) else { return }
        // A failed reply is kept as a failed message; the event itself is done.
        _ = try await outbox.send(
            OutgoingSMS(
                businessID: business.id, leadID: leadID, to: from, text: reply,
                idempotencyKey: "reply:" + event.id),
            requestID: requestID, logger: logger)
    }

    private func delivery(_ event: TelnyxEvent) async throws {
        guard let messageID = event.messageID, let status = event.deliveredStatus else { return }
        // The event may outrun our own record of Telnyx's id: then this throws and is retried.
        guard try await sms.updateStatus(providerMessageID: messageID, to: status) else {
            throw MessageNotYetKnown()
        }
    }

    struct MessageNotYetKnown: Error {}
}

/// The stored webhook events.
struct InboxStore: Sendable {
    let db: any Database

    struct Claimed: Sendable {
        let event: TelnyxEvent
        let claim: LeasedQueue.Claim
    }

    /// Stores the event; false when an event with this id was stored before (a redelivery).
    func record(_ event: TelnyxEvent, payload: JSONValue, now: Date = Date()) async throws -> Bool {
        let rows = try await db.query(
            """
            INSERT INTO webhook_events (id, type, payload, status, attempts, next_attempt_at, created_at)
            VALUES ($1, $2, $3, 'pending', 0, $4, $4) ON CONFLICT (id) DO NOTHING RETURNING id
            """, [.text(event.id), .text(event.type), SQLValue(payload), SQLValue(now)])
        return !rows.isEmpty
    }

    /// The events as a leased queue: `pending` until worked, `processing` while claimed or waiting to
    /// be tried again, `failed` after eight tries over about eight minutes, else `done`.
    var queue: LeasedQueue {
        LeasedQueue(
            db: db, layout: .init(table: "webhook_events", dueColumn: "next_attempt_at", ready: "pending", leased: "processing", dead: "failed"),
            lease: 60, retry: RetryPolicy(attempts: 8, baseDelay: .seconds(2), maxDelay: .seconds(300)))
    }

    func claim(now: Date = Date()) async throws -> [Claimed] {
        var claimed: [Claimed] = []
        for claim in try await queue.claim(now: now) {
            guard let payload = claim.row.string("payload"), let json = try? JSONValue.decode(Array(payload.utf8)),
                var event = TelnyxEvent.parse(json, rawBody: Array(payload.utf8))
            else {
                // Stored events were parsed once already; one that no longer parses is parked, not retried forever.
                try await queue.finish(claim.id, status: "failed", setting: [("error", "unreadable payload")])
                continue
            }
            event.id = claim.id  // the id it was stored under, whatever the body
            claimed.append(Claimed(event: event, claim: claim))
        }
        return claimed
    }

    func finish(_ id: String, now: Date = Date()) async throws {
        try await queue.finish(id, status: "done", setting: [("processed_at", SQLValue(now))])
    }
}
