import CloudGreetCore
import Foundation
import Logging
import Persistence
import ServiceKit
import TestSupport
import Testing

/// The generic webhook inbox on both engines, with a handler that counts what it is given.
@Suite struct WebhookInboxTests {
    actor Effects {
        var handled: [String] = []
        var failuresLeft: Int
        init(failures: Int) { failuresLeft = failures }

        func handle(_ id: String) throws {
            if failuresLeft > 0 {
                failuresLeft -= 1
                throw Failure()
            }
            handled.append(id)
        }
    }

    struct Failure: Error {}

    func inbox(_ url: String, attempts: Int = 3) async throws -> WebhookInbox<String> {
        let db = try await DatabaseFactory.open(url: url, logLabel: "t")
        try await Migrator.migrate(db, scope: "inbox-test", [Migration(1, "webhook events", WebhookInbox<String>.schema)])
        return WebhookInbox<String>(
            db: db, retry: RetryPolicy(attempts: attempts, baseDelay: .seconds(10), maxDelay: .seconds(10)),
            metrics: ServiceMetrics(service: "test"), logger: Logger(label: "test")
        ) { id, payload in payload["kind"]?.stringValue == "readable" ? id : nil }
    }

    @Test func theSameEventTwiceHasOneEffect() async throws {
        for url in try await TestEnvironment.databaseURLs() {
            let inbox = try await inbox(url)
            let effects = Effects(failures: 0)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            #expect(try await inbox.record(id: "evt_1", type: "message.received", payload: ["kind": "readable"], now: now))
            #expect(try await !inbox.record(id: "evt_1", type: "message.received", payload: ["kind": "readable"], now: now))
            #expect(await inbox.drain(now: now) { try await effects.handle($0) } == 1)
            #expect(try await !inbox.record(id: "evt_1", type: "message.received", payload: ["kind": "readable"], now: now + 5))
            #expect(await inbox.drain(now: now + 120) { try await effects.handle($0) } == 0)
            #expect(await effects.handled == ["evt_1"])
            await inbox.queue.db.close()
        }
    }

    @Test func aFailingHandlerIsRetriedThenParkedNeverLost() async throws {
        for url in try await TestEnvironment.databaseURLs() {
            let inbox = try await inbox(url, attempts: 3)
            var now = Date(timeIntervalSince1970: 1_800_000_000)
            _ = try await inbox.record(id: "evt_flaky", type: "message.received", payload: ["kind": "readable"], now: now)
            _ = try await inbox.record(id: "evt_poison", type: "message.received", payload: ["kind": "readable"], now: now)
            _ = try await inbox.record(id: "evt_garbage", type: "message.received", payload: ["kind": "unreadable"], now: now)
            let flaky = Effects(failures: 1)
            for _ in 0..<4 {
                await inbox.drain(now: now) { id in
                    if id == "evt_poison" { throw Failure() }
                    try await flaky.handle(id)
                }
                now += 11
            }
            #expect(await flaky.handled == ["evt_flaky"])  // failed once, done on its second try
            #expect(try await inbox.queue.counts() == ["done": 1, "failed": 2])
            let poison = try await inbox.queue.db.first("SELECT attempts, error, payload FROM webhook_events WHERE id = 'evt_poison'")
            #expect(poison?.int("attempts") == 3 && poison?.string("payload")?.contains("readable") == true)  // kept, with its payload
            await inbox.queue.db.close()
        }
    }

    /// Events of one partition are worked in order; another partition does not wait for them.
    @Test(.timeLimit(.minutes(1))) func partitionsAreWorkedSideBySideEachInOrder() async throws {
        let inbox = try await inbox("sqlite://\(TestEnvironment.temporaryDirectory())/inbox.sqlite")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        for (index, id) in ["a-1", "b-1", "a-2", "a-3"].enumerated() {
            _ = try await inbox.record(id: id, type: "t", payload: ["kind": "readable"], now: now + Double(index) / 1000)
        }
        let log = Effects(failures: 0)
        let (bDone, signal) = AsyncStream<Void>.makeStream()
        await inbox.drain(now: now + 1, partition: { String($0.prefix(1)) }) { id in
            if id == "a-1" {
                // Holds partition "a" until "b" has been worked: sequential draining would never get there.
                for await _ in bDone { break }
            }
            try await log.handle(id)
            if id == "b-1" { signal.finish() }
        }
        let handled = await log.handled
        #expect(handled.filter { $0.hasPrefix("a") } == ["a-1", "a-2", "a-3"])
        #expect(handled.first == "b-1")
        await inbox.queue.db.close()
    }
}
