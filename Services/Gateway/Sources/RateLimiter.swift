import CloudGreetCore
import Foundation
import Persistence

/// The outcome of counting one request against a fixed window.
struct RateLimitDecision: Sendable, Equatable {
    let limit: Int
    let remaining: Int
    /// Unix seconds at which the window ends.
    let reset: Int
    let allowed: Bool

    init(limit: Int, count: Int, windowStart: Int, window: Int) {
        self.limit = limit
        remaining = max(0, limit - count)
        reset = windowStart + window
        allowed = count <= limit
    }

    var headers: [(String, String)] {
        [("X-RateLimit-Limit", String(limit)), ("X-RateLimit-Remaining", String(remaining)), ("X-RateLimit-Reset", String(reset))]
    }
}

protocol RateLimitStore: Sendable {
    /// Counts a hit for `bucket` in the current window and returns the count so far.
    func hit(_ bucket: String, windowStart: Int) async throws -> Int
}

struct RateLimiter: Sendable {
    let store: any RateLimitStore
    let window: Int

    func check(_ bucket: String, limit: Int, now: Date = Date()) async throws -> RateLimitDecision {
        let seconds = Int(now.timeIntervalSince1970)
        let windowStart = seconds - seconds % window
        let count = try await store.hit(bucket, windowStart: windowStart)
        return RateLimitDecision(limit: limit, count: count, windowStart: windowStart, window: window)
    }
}

/// Counters in this process (the default): one gateway replica.
actor MemoryRateLimitStore: RateLimitStore {
    private var counts: [String: (windowStart: Int, count: Int)] = [:]
    private var lastPrune = 0

    func hit(_ bucket: String, windowStart: Int) -> Int {
        if windowStart != lastPrune {
            counts = counts.filter { $0.value.windowStart >= windowStart }  // drop finished windows
            lastPrune = windowStart
        }
        var entry = counts[bucket] ?? (windowStart, 0)
        if entry.windowStart != windowStart { entry = (windowStart, 0) }
        entry.count += 1
        counts[bucket] = entry
        return entry.count
    }
}

/// Counters in the database, shared by every gateway replica: one atomic upsert per request.
struct SQLRateLimitStore: RateLimitStore {
    let db: any Database

    static let migrations = [
        Migration(1, "rate_limits", [
            "CREATE TABLE rate_limits (bucket TEXT PRIMARY KEY, window_start BIGINT NOT NULL, hits BIGINT NOT NULL)",
        ]),
    ]

    func hit(_ bucket: String, windowStart: Int) async throws -> Int {
        let row = try await db.first(
            """
            INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1)
            ON CONFLICT (bucket) DO UPDATE SET
                hits = CASE WHEN rate_limits.window_start = EXCLUDED.window_start THEN rate_limits.hits + 1 ELSE 1 END,
                window_start = EXCLUDED.window_start
            RETURNING hits
            """, [.text(bucket), .int(Int64(windowStart))])
        return row?.int("hits") ?? 1
    }
}
