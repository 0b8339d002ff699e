import Foundation

/// Values kept for `ttl` seconds, at most `capacity` of them: past the bound the oldest entry goes
/// first. Every entry lives equally long, so insertion order is expiry order and a FIFO queue of
/// keys evicts in O(1) amortised; a key stored again leaves a stale queue slot that is skipped.
public actor TTLCache<Key: Hashable & Sendable, Value: Sendable> {
    private struct Entry {
        var value: Value
        var expires: Date
        var generation: Int
    }

    private let ttl: TimeInterval
    private let capacity: Int
    private var entries: [Key: Entry] = [:]
    private var order: [(key: Key, generation: Int)] = []
    private var head = 0
    private var generation = 0

    public init(ttl: TimeInterval, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = max(1, capacity)
    }

    public var count: Int { entries.count }

    public func value(_ key: Key, now: Date = Date()) -> Value? {
        guard let entry = entries[key] else { return nil }
        guard entry.expires > now else {
            entries[key] = nil
            return nil
        }
        return entry.value
    }

    public func store(_ key: Key, _ value: Value, now: Date = Date()) {
        generation += 1
        entries[key] = Entry(value: value, expires: now.addingTimeInterval(ttl), generation: generation)
        order.append((key, generation))
        evict(now: now)
    }

    public func remove(_ key: Key) { entries[key] = nil }

    /// Drops expired entries from the front of the queue, then the oldest while over capacity.
    private func evict(now: Date) {
        while head < order.count {
            let slot = order[head]
            guard let entry = entries[slot.key], entry.generation == slot.generation else {
                head += 1  // stale: removed, or stored again later
                continue
            }
            guard entry.expires <= now || entries.count > capacity else { break }
            entries[slot.key] = nil
            head += 1
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
