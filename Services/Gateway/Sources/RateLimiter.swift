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
    func hit(_ bucket: String, windowStart: Int, limit: Int) async throws -> Int
    /// Counts a hit and returns the count so far when that can be done at once, without waiting,
    /// and the hit stays within `limit`; else nil, and nothing is counted.
    func hitNow(_ bucket: String, windowStart: Int, limit: Int) -> Int?
    /// The count so far, without adding a hit.
    func hits(_ bucket: String, windowStart: Int) async throws -> Int
    /// Forgets counters of windows that started before `windowStart`.
    func prune(before windowStart: Int) async throws
}

struct RateLimiter: Sendable {
    let store: any RateLimitStore
    let window: Int

    func check(_ bucket: String, limit: Int, now: Date = Date()) async throws -> RateLimitDecision {
        let windowStart = windowStart(now)
        let count = try await store.hit(bucket, windowStart: windowStart, limit: limit)
        return RateLimitDecision(limit: limit, count: count, windowStart: windowStart, window: window)
    }

    /// The decision for an allowed request, counted, when the store can count it without waiting;
    /// nil (nothing counted) otherwise, or when the limit is reached, for `check` to decide.
    func checkAllowed(_ bucket: String, limit: Int, now: Date = Date()) -> RateLimitDecision? {
        let windowStart = windowStart(now)
        guard let count = store.hitNow(bucket, windowStart: windowStart, limit: limit) else { return nil }
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

    func hit(_ bucket: String, windowStart: Int, limit: Int) -> Int {
        count(bucket, windowStart: windowStart, below: .max) ?? 0
    }

    func hitNow(_ bucket: String, windowStart: Int, limit: Int) -> Int? {
        count(bucket, windowStart: windowStart, below: limit)
    }

    /// Counts a hit and returns the count so far, unless `limit` hits were counted already: then
    /// nil, and nothing is counted.
    private func count(_ bucket: String, windowStart: Int, below limit: Int) -> Int? {
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

/// Counters in the database, shared by every gateway replica. A replica takes hits from a bucket's
/// counter in blocks (`block(for:)`: a hundredth of the limit, at most `RATE_LIMIT_SHARED_BLOCK`;
/// one below a limit of 200) and counts them out here, so that most requests need no round trip to
/// the database and can take the fast lane. No more than the limit is ever allowed; the price is
/// that hits one replica took but did not use count against the bucket, so with several replicas
/// a client may be refused up to a block less one per other replica early (1 % of the limit each).
/// `RATE_LIMIT_SHARED_BLOCK=1` counts every hit in the database, exactly.
final class SQLRateLimitStore: RateLimitStore {
    let db: any Database

    /// Hits taken from the database and not yet counted out, by bucket: ascending ranges, as
    /// requests that found none left may each have taken a block at once.
    private struct Lease {
        let windowStart: Int
        var ranges: [ClosedRange<Int>]
    }

    private let leases = Mutex<[String: Lease]>([:])
    private let maxBlock: Int

    init(db: any Database, maxBlock: Int = 50) {
        self.db = db
        self.maxBlock = max(1, maxBlock)
    }

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

    /// Hits taken from the database at once for a bucket with this limit.
    func block(for limit: Int) -> Int { min(maxBlock, max(1, limit / 100)) }

    func hitNow(_ bucket: String, windowStart: Int, limit: Int) -> Int? {
        leases.withLock { leases in
            guard var lease = leases[bucket], lease.windowStart == windowStart, let range = lease.ranges.first,
                range.lowerBound <= limit
            else { return nil }
            if range.lowerBound < range.upperBound {
                lease.ranges[0] = (range.lowerBound + 1)...range.upperBound
            } else {
                lease.ranges.removeFirst()
            }
            leases[bucket] = lease
            return range.lowerBound
        }
    }

    func hit(_ bucket: String, windowStart: Int, limit: Int) async throws -> Int {
        if let count = hitNow(bucket, windowStart: windowStart, limit: limit) { return count }
        let block = block(for: limit)
        let row = try await db.first(
            """
            INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, $3)
            ON CONFLICT (bucket) DO UPDATE SET
                hits = CASE WHEN rate_limits.window_start = EXCLUDED.window_start THEN rate_limits.hits + $3 ELSE $3 END,
                window_start = EXCLUDED.window_start
            RETURNING hits
            """, [.text(bucket), .int(Int64(windowStart)), .int(Int64(block))])
        let last = row?.int("hits") ?? block
        let first = last - block + 1
        if block > 1 {
            leases.withLock { leases in
                // Finished windows' leases go as new ones come, so the map stays the size of one window.
                if leases.count > 10_000 { leases = leases.filter { $0.value.windowStart >= windowStart } }
                var lease = leases[bucket].flatMap { $0.windowStart == windowStart ? $0 : nil } ?? Lease(windowStart: windowStart, ranges: [])
                let rest = (first + 1)...last
                lease.ranges.insert(rest, at: lease.ranges.firstIndex { $0.lowerBound > rest.lowerBound } ?? lease.ranges.endIndex)
                leases[bucket] = lease
            }
        }
        return first
    }

    func hits(_ bucket: String, windowStart: Int) async throws -> Int {
        let row = try await db.first(
            "SELECT hits FROM rate_limits WHERE bucket = $1 AND window_start = $2",
            [.text(bucket), .int(Int64(windowStart))])
        return row?.int("hits") ?? 0
    }

    func prune(before windowStart: Int) async throws {
        leases.withLock { leases in leases = leases.filter { $0.value.windowStart >= windowStart } }
        try await db.query("DELETE FROM rate_limits WHERE window_start < $1", [.int(Int64(windowStart))])
    }
}
