import CloudGreetCore
import Foundation
import Logging
import Persistence
import ServiceClients
import ServiceKit

/// Asks voice-agent and messaging to erase their part of each erasure until each confirms. Run
/// right after an erasure is recorded (so a healthy stack answers the DELETE with everything
/// erased) and by a poller (so a service that was down gets its part when it is back).
struct ErasureWorker: Sendable {
    let store: ErasureStore
    let clients: [ServiceName: ErasureClient]
    let logger: Logger
    let metrics: ServiceMetrics

    /// One pass: claims the due parts and sends each to its service. Returns how many were handled.
    @discardableResult
    func tick(now: Date = Date()) async -> Int {
        await store.queue.work("erasure parts", now: now, concurrently: true, logger: logger) { claim in
            await erase(claim, now: now)
        }
    }

    /// The first try of one erasure's parts, made by the request that recorded them.
    func tick(erasureID: String, now: Date = Date()) async {
        await store.queue.work(
            "erasure parts", now: now.addingTimeInterval(ErasureStore.firstTry), matching: ("erasure_id", erasureID), concurrently: true,
            logger: logger
        ) { claim in await erase(claim, now: now) }
    }

    private func erase(_ claim: LeasedQueue.Claim, now: Date) async {
        // A row that does not read as a part is claimed again when its lease ends: none is given up.
        guard let part = try? ErasureStore.Part(claim) else { return }
        do {
            guard let client = clients[part.service] else { throw ServiceCallError.unavailable(part.service) }
            try await client.erase(part.erasure, ResourceID.make(.request))
            try await store.done(part)
            metrics.increment("queue_items_total", labels: ["queue": "erasures", "outcome": "done"])
        } catch {
            _ = try? await store.queue.fail(part.claim, error: String(describing: type(of: error)), now: now)
            logger.warning(
                "erasure part deferred",
                metadata: ["erasure_id": .string(part.erasure.id), "service": .string(part.service.rawValue)])
            metrics.increment("queue_items_total", labels: ["queue": "erasures", "outcome": "retried"])
        }
    }
}
