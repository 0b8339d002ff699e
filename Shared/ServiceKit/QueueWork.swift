import Foundation
import Logging
import Persistence

extension LeasedQueue {
    /// One pass of a worker: claims up to `limit` due items and gives each to `body`, one after
    /// another or all at once (`concurrently`: items that wait on different remote parties). A
    /// claim that fails (the database is down) is logged as `could not claim <what>` and works
    /// nothing; the next pass tries again. Returns how many items were claimed.
    @discardableResult
    public func work(
        _ what: String, now: Date = Date(), limit: Int = 20, matching: (column: String, value: String)? = nil,
        concurrently: Bool = false, logger: Logger, _ body: @escaping @Sendable (Claim) async -> Void
    ) async -> Int {
        let claims: [Claim]
        do {
            claims = try await claim(now: now, limit: limit, matching: matching)
        } catch {
            logger.error("could not claim \(what)")
            return 0
        }
        if concurrently {
            await withTaskGroup(of: Void.self) { group in
                for claim in claims { group.addTask { await body(claim) } }
            }
        } else {
            for claim in claims { await body(claim) }
        }
        return claims.count
    }
}
