import CloudGreetCore
import Foundation
import HTTPTypes
import Persistence
import Synchronization

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

    var headers: [(HTTPField.Name, String)] {
        [(Self.limitHeader, String(limit)), (Self.remainingHeader, String(remaining)), (Self.resetHeader, String(reset))]
    }

    static let limitHeader = HTTPField.Name("X-RateLimit-Limit") ?? .via
    static let remainingHeader = HTTPField.Name("X-RateLimit-Remaining") ?? .via
    static let resetHeader = HTTPField.Name("X-RateLimit-Reset") ?? .via
}

protocol RateLimitStore: Sendable {
    /// Counts a hit for `bucket` in the current window and returns the count so far.
    func hit(_ bucket: String, windowStart: Int) async throws -> Int
    /// The count so far, without adding a hit.
    func hits(_ bucket: String, windowStart: Int) async throws -> Int
    /// Forgets counters of windows that started before `windowStart`.
    func prune(before windowStart: Int) async throws
}

struct RateLimiter: Sendable {
    let store: any RateLimitStore
    let window: Int
    /// The store when its counters are in this process, for `checkAllowed`.
    private let memory: MemoryRateLimitStore?

    init(store: any RateLimitStore, window: Int) {
        self.store = store
        self.window = window
        memory = store as? MemoryRateLimitStore
    }

    func check(_ bucket: String, limit: Int, now: Date = Date()) async throws -> RateLimitDecision {
        let windowStart = windowStart(now)
        let count = try await store.hit(bucket, windowStart: windowStart)
        return RateLimitDecision(limit: limit, count: count, windowStart: windowStart, window: window)
    }

    /// The decision for an allowed request, counted, when the counters are in this process; nil
    /// (nothing counted) when they are in the database or the limit is reached, for `check` to decide.
    func checkAllowed(_ bucket: String, limit: Int, now: Date = Date()) -> RateLimitDecision? {
        let windowStart = windowStart(now)
        guard let memory, let count = memory.hit(bucket, windowStart: windowStart, below: limit)
        else { return nil }
        return RateLimitDecision(limit: limit, count: count, windowStart: windowStart, window: window)
    }

    /// Whether one more hit would still be allowed, without counting one.
    func hasRoom(_ bucket: String, limit: Int, now: Date = Date()) async throws -> Bool {
        try await store.hits(bucket, windowStart: windowStart(now)) < limit
    }

    /// Drops the counters of finished windows.
    func prune(now: Date = Date()) async throws {
        try await store.prune(before: windowStart(now))
    }

    private func windowStart(_ now: Date) -> Int {
        let seconds = Int(now.timeIntervalSince1970)
        return seconds - seconds % window
    }
}

/// Counters in this process (the default): one gateway replica. A lock, not an actor, so that the
/// gateway's fast lane can count on the event loop.
final class MemoryRateLimitStore: RateLimitStore {
    private struct State {
        var counts: [String: (windowStart: Int, count: Int)] = [:]
        var lastPrune = 0
    }

    private let state = Mutex(State())

    func hit(_ bucket: String, windowStart: Int) -> Int {
        hit(bucket, windowStart: windowStart, below: .max) ?? 0
    }

    /// Counts a hit and returns the count so far, unless `limit` hits were counted already: then
    /// nil, and nothing is counted.
    func hit(_ bucket: String, windowStart: Int, below limit: Int) -> Int? {
        state.withLock { state in
            if windowStart != state.lastPrune {
                state.counts = state.counts.filter { $0.value.windowStart >= windowStart }  // drop finished windows
                state.lastPrune = windowStart
            }
            var entry = state.counts[bucket] ?? (windowStart, 0)
            if entry.windowStart != windowStart { entry = (windowStart, 0) }
            guard entry.count < limit else { return nil }
            entry.count += 1
            state.counts[bucket] = entry
            return entry.count
        }
    }

    func hits(_ bucket: String, windowStart: Int) -> Int {
        state.withLock { state in
            guard let entry = state.counts[bucket], entry.windowStart == windowStart else { return 0 }
            return entry.count
        }
    }

    func prune(before windowStart: Int) {
        state.withLock { state in state.counts = state.counts.filter { $0.value.windowStart >= windowStart } }
    }
}

/// Counters in the database, shared by every gateway replica: one atomic upsert per request.
struct SQLRateLimitStore: RateLimitStore {
    let db: any Database

    static let migrations = [
        Migration(
            1, "rate_limits",
            [
                "CREATE TABLE rate_limits (bucket TEXT PRIMARY KEY, window_start BIGINT NOT NULL, hits BIGINT NOT NULL)"
            ]),
        Migration(
            2, "rate_limits by window, for pruning",
            [
                "CREATE INDEX rate_limits_window ON rate_limits (window_start)"
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

    func hits(_ bucket: String, windowStart: Int) async throws -> Int {
        let row = try await db.first(
            "SELECT hits FROM rate_limits WHERE bucket = $1 AND window_start = $2",
            [.text(bucket), .int(Int64(windowStart))])
        return row?.int("hits") ?? 0
    }

    func prune(before windowStart: Int) async throws {
        try await db.query("DELETE FROM rate_limits WHERE window_start < $1", [.int(Int64(windowStart))])
    }
}
