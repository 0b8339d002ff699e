import CloudGreetCore
import Persistence
import TestSupport
import Testing

@testable import Gateway

/// The idempotency keys' rules on each engine: who runs, who waits, who gets the kept answer.
@Suite struct IdempotencyTests {
    func slot(_ key: String = "key-1", body: String = "{\"name\":\"Ana\"}", scope: String = "business:b1") -> Idempotency.Slot {
        Idempotency.Slot(scope: scope, key: key, method: "POST", path: "/leads", query: nil, body: Array(body.utf8))
    }

    @Test func claimsRunOnceAndKeepTheAnswer() async throws {
        for url in try await TestEnvironment.databaseURLs() {
            let db = try await DatabaseFactory.open(url: url, logLabel: "t")
            try await Migrator.migrate(db, scope: "gateway", SQLRateLimitStore.migrations + Idempotency.migrations)
            let keys = Idempotency(db: db, lease: 40)
            let now = 1_800_000_000

            #expect(try await keys.claim(slot(), now: now) == .run)
            // While the first runs, the same request waits and another one is refused.
            #expect(try await keys.claim(slot(), now: now + 1) == .inUse)
            #expect(try await keys.claim(slot(body: "{\"name\":\"Bo\"}"), now: now + 1) == .reused)
            // Keys are per scope: another business may use the same words.
            #expect(try await keys.claim(slot(scope: "business:b2"), now: now + 1) == .run)

            try await keys.finish(slot(), status: 201, body: "{\"success\":true}")
            #expect(try await keys.claim(slot(), now: now + 2) == .replay(status: 201, body: "{\"success\":true}"))
            #expect(try await keys.claim(slot(body: "{}"), now: now + 2) == .reused)
            // After 24 hours the key is free again.
            #expect(try await keys.claim(slot(body: "{}"), now: now + Idempotency.lifetime + 1) == .run)

            // A holder that never finished (a gateway that died) gives the key up after its lease.
            #expect(try await keys.claim(slot("key-2"), now: now) == .run)
            #expect(try await keys.claim(slot("key-2"), now: now + 39) == .inUse)
            #expect(try await keys.claim(slot("key-2"), now: now + 41) == .run)
            #expect(try await keys.claim(slot("key-2"), now: now + 42) == .inUse)

            // A released key runs again; a key with an answer is not released.
            try await keys.release(slot("key-2"))
            #expect(try await keys.claim(slot("key-2"), now: now + 43) == .run)
            #expect(try await keys.claim(slot("key-3"), now: now) == .run)
            try await keys.finish(slot("key-3"), status: 422, body: "{}")
            try await keys.release(slot("key-3"))
            #expect(try await keys.claim(slot("key-3"), now: now + 44) == .replay(status: 422, body: "{}"))

            try await keys.prune(now: now + 3 * Idempotency.lifetime)
            #expect(try await db.first("SELECT COUNT(*) AS n FROM idempotency_keys")?.int("n") == 0)
            await db.close()
        }
    }

    @Test func onlyAnswersThatShowTheWorkAreKept() {
        #expect(Idempotency.keeps(status: 201) && Idempotency.keeps(status: 422) && Idempotency.keeps(status: 409))
        #expect(!Idempotency.keeps(status: 429) && !Idempotency.keeps(status: 500) && !Idempotency.keeps(status: 503))
    }

    @Test func aReplayIsTheFirstAnswerInAFreshEnvelope() throws {
        let first = #"{"data":{"id":"lead_1"},"requestId":"req_first","success":true,"timestamp":"2026-01-01T00:00:00Z"}"#
        let again = try JSONValue.decode(Idempotency.replayBody(first, requestID: "req_second"))
        #expect(again["data"] == ["id": "lead_1"] && again["success"] == true)
        #expect(again["requestId"] == "req_second" && again["timestamp"] != "2026-01-01T00:00:00Z")
    }
}
