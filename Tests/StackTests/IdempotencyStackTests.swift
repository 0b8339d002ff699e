import CloudGreetCore
import Foundation
import TestSupport
import Testing

/// `Idempotency-Key` through the gateway (API-CONTRACT.md section 6), with real services.
@Suite(.serialized) struct IdempotencyStackTests {
    typealias Engine = StackTests.Engine

    /// The whole stack; on PostgreSQL the gateway keeps its keys there too, as replicas would.
    static func world(_ engine: Engine) async throws -> CRMStackTests.World? {
        guard engine == .postgres else { return try await CRMStackTests.world(engine) }
        guard let gatewayDatabase = try await TestEnvironment.postgresDatabaseURL() else { return nil }
        return try await CRMStackTests.world(engine, databases: [.gateway: gatewayDatabase])
    }

    @Test(arguments: Engine.allCases)
    func aRetriedBookingAfterALostAnswerBooksOnce(engine: Engine) async throws {
        guard let world = try await Self.world(engine) else { return }
        defer { world.stop() }
        let stack = world.stack
        let owner = try await stack.register("owner@example.com", business: "Ana Plumbing")
        let token = owner.token
        _ = try await stack.call(
            .PUT, "/businesses/\(owner.businessID)",
            ["settings": ["timezone": "America/New_York", "business_hours": CRMStackTests.allWeek]], token: token)
        let lead = try await stack.call(.POST, "/leads", ["name": "Ana", "phone": "+15552013344"], token: token)
        let leadID = try #require(lead.data["id"]?.stringValue)
        let booking: JSONValue = [
            "lead_id": .string(leadID), "scheduled_date": .string(Timestamp.format(CRMStackTests.next(weekday: 3, hour: 10))),
            "duration": 60,
        ]
        let key = ("Idempotency-Key", "booking-\(UUID().uuidString)")

        // The first try's answer is lost: the client sends the request and hangs up.
        let body = booking.jsonString
        let raw = try RawConnection(port: stack.ports[.gateway] ?? 0)
        raw.send(
            "POST /api/appointments HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\n"
                + "Content-Type: application/json\r\n\(key.0): \(key.1)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        raw.close()

        // The client tries again with the same key until the first has finished.
        var retry = try await stack.call(.POST, "/appointments", booking, token: token, headers: [key])
        for _ in 0..<50 where retry.status == 409 {
            #expect(retry.code == "IDEMPOTENCY_KEY_IN_USE" && retry.header("Retry-After") == "1")
            try await Task.sleep(for: .milliseconds(200))
            retry = try await stack.call(.POST, "/appointments", booking, token: token, headers: [key])
        }
        #expect(retry.status == 201)
        let id = try #require(retry.data["id"]?.stringValue)

        // Every later try gets the same answer, marked as replayed, in a fresh envelope.
        let again = try await stack.call(.POST, "/appointments", booking, token: token, headers: [key])
        #expect(again.status == 201 && again.data["id"]?.stringValue == id && again.header("Idempotent-Replayed") == "true")
        #expect(again.body["requestId"] != retry.body["requestId"] && again.header("X-Request-Id") == again.body["requestId"]?.stringValue)
        let booked = try await stack.call(.GET, "/appointments", token: token)
        #expect(booked.data["pagination"]?["total"] == 1)

        // The same key with another request is refused, and changes nothing.
        let moved: JSONValue = ["lead_id": booking["lead_id"] ?? .null, "scheduled_date": booking["scheduled_date"] ?? .null, "duration": 30]
        let reused = try await stack.call(.POST, "/appointments", moved, token: token, headers: [key])
        #expect(reused.status == 422 && reused.code == "IDEMPOTENCY_KEY_REUSED")
        #expect(try await stack.call(.GET, "/appointments", token: token).data["pagination"]?["total"] == 1)

        // Keys are per business: another business's identical key is its own.
        let other = try await stack.register("other@example.com", business: "Bo Heating")
        let theirs = try await stack.call(.POST, "/leads", ["name": "Ana", "phone": "+15552013344"], token: other.token, headers: [key])
        #expect(theirs.status == 201 && theirs.header("Idempotent-Replayed") == nil)

        let tooLong = try await stack.call(
            .POST, "/leads", ["name": "Cy"], token: token, headers: [("Idempotency-Key", String(repeating: "k", count: 256))])
        #expect(tooLong.status == 422 && tooLong.body["details"]?["Idempotency-Key"] != nil)
        #expect(try await stack.call(.GET, "/leads", token: token).data["pagination"]?["total"] == 1)
    }

    @Test(arguments: Engine.allCases)
    func concurrentDuplicatesCreateOneLead(engine: Engine) async throws {
        guard let world = try await Self.world(engine) else { return }
        defer { world.stop() }
        let stack = world.stack
        let token = try await stack.register("owner@example.com").token
        let key = ("Idempotency-Key", "lead-once")
        let answers = try await withThrowingTaskGroup(of: TestResponse.self) { group in
            for _ in 0..<6 {
                group.addTask { try await stack.call(.POST, "/leads", ["name": "Dee", "phone": "+15552014455"], token: token, headers: [key]) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // Each answer is the lead (first or replayed) or "still running"; never a second lead or a duplicate error.
        #expect(answers.allSatisfy { $0.status == 201 || ($0.status == 409 && $0.code == "IDEMPOTENCY_KEY_IN_USE") })
        #expect(Set(answers.filter { $0.status == 201 }.compactMap { $0.data["id"]?.stringValue }).count == 1)
        #expect(try await stack.call(.GET, "/leads", token: token).data["pagination"]?["total"] == 1)
    }
}
