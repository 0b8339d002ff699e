import Persistence
import ServiceKit
import Testing

/// The outbox's order of work, with records kept in memory.
@Suite struct OutboxTests {
    struct Message: Sendable, Equatable {
        var id: String
        var key: String?
        var status: String
    }

    actor Kept {
        var messages: [String: Message] = [:]
        var raceOnInsert = false
        func find(_ key: String) -> Message? { messages.values.first { $0.key == key } }
        func insert(_ message: Message) throws {
            if raceOnInsert {
                raceOnInsert = false
                messages["other"] = Message(id: "other", key: message.key, status: "sent")
                throw DatabaseError.uniqueViolation
            }
            messages[message.id] = message
        }
        func update(_ message: Message) -> Message {
            messages[message.id] = message
            return message
        }
        func race() { raceOnInsert = true }
    }

    func outbox(_ kept: Kept, _ metrics: ServiceMetrics) -> Outbox<Message> {
        Outbox(
            provider: "test", metrics: metrics, find: { await kept.find($0) }, insert: { try await kept.insert($0) },
            update: { await kept.update($0) })
    }

    @Test func keepsCountsAndAnswersARetryWithTheFirstMessage() async throws {
        let kept = Kept()
        let metrics = ServiceMetrics(service: "test")
        let outbox = outbox(kept, metrics)
        var calls = 0
        let first = try await outbox.send(idempotencyKey: "k1") {
            Message(id: "m1", key: "k1", status: "queued")
        } deliver: {
            calls += 1
            return .failed(Message(id: $0.id, key: $0.key, status: "failed"))
        }
        let stored = await kept.messages["m1"]
        #expect(first.status == "failed" && stored == first)  // kept, with its outcome
        let again = try await outbox.send(idempotencyKey: "k1") {
            Message(id: "m2", key: "k1", status: "queued")
        } deliver: {
            calls += 1
            return .sent($0)
        }
        #expect(again == first && calls == 1)  // the retry sends nothing
        _ = try await outbox.send(idempotencyKey: nil) {
            Message(id: "m3", status: "queued")
        } deliver: {
            .sandbox($0)
        }
        #expect(metrics.value("provider_requests_total", labels: ["provider": "test", "outcome": "failed"]) == 1)
        #expect(metrics.value("provider_requests_total", labels: ["provider": "test", "outcome": "sent"]) == 0)

        await kept.race()  // another request stores the same key first
        let raced = try await outbox.send(idempotencyKey: "k2") {
            Message(id: "m4", key: "k2", status: "queued")
        } deliver: {
            calls += 1
            return .sent($0)
        }
        #expect(raced.id == "other" && calls == 1)
    }
}
