import CloudGreetCore
import Foundation
import Persistence
import ServiceClients

/// crm's SQL for erasures: the record of who erased which lead and when (nothing personal), and
/// each other service's part of it, worked as a leased queue until that service confirms.
struct ErasureStore: Sendable {
    let db: any Database

    /// The services that keep something of a lead besides crm.
    static let services: [ServiceName] = [.voiceAgent, .messaging]
    /// The request that erases tries the parts itself first (`ErasureWorker.tick(erasureID:)`); the
    /// poller takes them only after this, so it does not race that first try.
    static let firstTry: TimeInterval = 30

    /// Records the erasure of `lead` and the parts still to do, in the caller's transaction (the one
    /// that deletes the lead), so that a crash can never leave a lead deleted with its calls and
    /// messages untouched. Returns the erasure's id.
    func record(_ lead: Lead, erasedBy: String, now: Date = Date(), on db: any SQLExecutor) async throws -> String {
        let id = ResourceID.make(.erasure)
        try await db.query(
            "INSERT INTO erasures (id, business_id, lead_id, erased_by, created_at) VALUES ($1, $2, $3, $4, $5)",
            [.text(id), .text(lead.businessID), .text(lead.id), .text(erasedBy), SQLValue(now)])
        for service in Self.services {
            try await db.query(
                """
                INSERT INTO erasure_parts (id, erasure_id, business_id, lead_id, service, phone, email, status, due_at, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9)
                """,
                [
                    .text(ResourceID.make(.erasure)), .text(id), .text(lead.businessID), .text(lead.id), .text(service.rawValue),
                    SQLValue(lead.phone), SQLValue(lead.email), SQLValue(now.addingTimeInterval(Self.firstTry)), SQLValue(now),
                ])
        }
        return id
    }

    /// The services whose part of the erasure is not done yet.
    func pending(erasureID: String) async throws -> [String] {
        try await db.query(
            "SELECT service FROM erasure_parts WHERE erasure_id = $1 AND status <> 'done' ORDER BY service", [.text(erasureID)]
        ).map { try $0.required("service") }
    }

    /// A part claimed from `queue`: which service, and what it must erase.
    struct Part: Sendable {
        let claim: LeasedQueue.Claim
        let service: ServiceName
        let erasure: Erasure

        init(_ claim: LeasedQueue.Claim) throws {
            self.claim = claim
            service = try claim.row.required("service", as: ServiceName.self)
            erasure = Erasure(
                id: try claim.row.required("erasure_id"), businessID: try claim.row.required("business_id"),
                leadID: try claim.row.required("lead_id"), phone: claim.row.string("phone"), email: claim.row.string("email"))
        }
    }

    /// `pending` until tried, `erasing` while claimed or waiting to be tried again, `done` once the
    /// service has confirmed. A service down for days still gets its part when it is back: the
    /// backoff stops growing at five minutes and the tries never run out.
    var queue: LeasedQueue {
        LeasedQueue(
            db: db,
            layout: .init(table: "erasure_parts", dueColumn: "due_at", ready: "pending", leased: "erasing", dead: "failed"),
            lease: 60, retry: RetryPolicy(attempts: .max, baseDelay: .seconds(2), maxDelay: .seconds(300)))
    }

    /// The part is done: the phone and email it carried are no longer needed, and go.
    func done(_ part: Part, now: Date = Date()) async throws {
        try await queue.finish(
            part.claim.id, status: "done", setting: [("phone", .null), ("email", .null), ("error", .null), ("done_at", SQLValue(now))])
    }
}
