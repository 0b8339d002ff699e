import Foundation
import Synchronization

/// Values kept for `ttl` seconds, at most `capacity` of them: past the bound the oldest entry goes
/// first. Every entry lives equally long, so insertion order is expiry order and a FIFO queue of
/// keys evicts in O(1) amortised; a key stored again leaves a stale queue slot that is skipped.
/// A lock, not an actor: each use is a dictionary lookup, which the gateway's fast lane makes on
/// the event loop, where it cannot await, and elsewhere an actor hop cost more than the lookup.
public final class TTLCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var expires: Date
        var generation: Int
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var order: [(key: Key, generation: Int)] = []
        var head = 0
        var generation = 0
    }

    private let ttl: TimeInterval
    private let capacity: Int
    private let state = Mutex(State())

    public init(ttl: TimeInterval, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = max(1, capacity)
    }

    public var count: Int { state.withLock { $0.entries.count } }

    public func value(_ key: Key, now: Date = Date()) -> Value? {
        state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            guard entry.expires > now else {
                state.entries[key] = nil
                return nil
            }
            return entry.value
        }
    }

    public func store(_ key: Key, _ value: Value, now: Date = Date()) {
        state.withLock { state in
            state.generation += 1
            state.entries[key] = Entry(value: value, expires: now.addingTimeInterval(ttl), generation: state.generation)
            state.order.append((key, state.generation))
            evict(&state, now: now)
        }
    }

    public func remove(_ key: Key) { state.withLock { $0.entries[key] = nil } }

    /// Drops expired entries from the front of the queue, then the oldest while over capacity.
    private func evict(_ state: inout State, now: Date) {
        while state.head < state.order.count {
            let slot = state.order[state.head]
            guard let entry = state.entries[slot.key], entry.generation == slot.generation else {
                state.head += 1  // stale: removed, or stored again later
                continue
            }
            guard entry.expires <= now || state.entries.count > capacity else { break }
            state.entries[slot.key] = nil
            state.head += 1
        }
        if state.head > 1024 && state.head * 2 > state.order.count {
            state.order.removeFirst(state.head)
            state.head = 0
        }
    }
}
