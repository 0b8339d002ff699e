import CloudGreetCore
import Foundation
import Logging
import Persistence
import ServiceClients
import ServiceKit
import TestSupport
import Testing

/// The webhook events' outbox on both engines: an event lives and dies with its change's
/// transaction, and is handed on oldest first, once messaging has it, and not before.
@Suite struct EventOutboxTests {
    actor Published {
        var batches: [[BusinessEvent]] = []
        var down = false
        func take(_ batch: [BusinessEvent]) throws {
            if down { throw ServiceCallError.unavailable(.messaging) }
            batches.append(batch)
        }
        func setDown(_ value: Bool) { down = value }
    }

    @Test func eventsFollowTheirTransactionAndLeaveInOrder() async throws {
        for url in try await TestEnvironment.databaseURLs() {
            let db = try await DatabaseFactory.open(url: url, logLabel: "t")
            try await Migrator.migrate(db, scope: "outbox-test", [Migration(1, "outbox", EventOutbox.schema)])
            let outbox = EventOutbox(db: db, logger: Logger(label: "test"))
            let business = ResourceID.make(.business)
            struct RolledBack: Error {}
            // A change that rolls back takes its event with it.
            await #expect(throws: RolledBack.self) {
                try await db.transaction { db in
                    try await outbox.record("lead.created", businessID: business, resourceID: "lead_x", data: ["id": "lead_x"], on: db)
                    throw RolledBack()
                }
            }
            let start = Date()
            for (index, type) in ["lead.created", "lead.updated", "lead.updated"].enumerated() {
                try await db.transaction { db in
                    try await outbox.record(
                        type, businessID: business, resourceID: "lead_1", data: ["id": "lead_1", "n": JSONValue(index)],
                        now: start.addingTimeInterval(Double(index) / 1000), on: db)
                }
            }
            let published = Published()
            let client = EventsClient { batch, _ in try await published.take(batch) }
            // Messaging down: nothing is lost, and the relay waits before trying again.
            await published.setDown(true)
            #expect(await outbox.relay(to: client, now: start) == 0)
            #expect(try await db.count("SELECT COUNT(*) AS n FROM event_outbox", []) == 3)
            await published.setDown(false)
            #expect(await outbox.relay(to: client, now: start) == 0)  // still within the backoff
            #expect(await outbox.relay(to: client, now: start.addingTimeInterval(120)) == 3)
            let batches = await published.batches
            #expect(batches.count == 1 && batches.first?.map { $0.data["n"]?.intValue } == [0, 1, 2])
            #expect(batches.first?.allSatisfy { $0.businessID == business && $0.resourceID == "lead_1" } == true)
            #expect(try await db.count("SELECT COUNT(*) AS n FROM event_outbox", []) == 0)
            #expect(await outbox.relay(to: client, now: start.addingTimeInterval(121)) == 0)
            await db.close()
        }
    }
}
