import Foundation
import Persistence

/// Messages leaving through a provider, kept so that nothing is lost and nothing goes twice: a
/// request with the idempotency key of an earlier one gets that message back; otherwise the message
/// is stored `queued` before the provider is called, then stored again with the outcome, which is
/// counted in `provider_requests_total`.
public struct Outbox<Record: Sendable>: Sendable {
    /// What the provider call came to: the record as it should now be stored.
    public enum Delivery: Sendable {
        case sent(Record)
        case failed(Record)
        /// No provider in development: recorded as sent, not counted as a provider request.
        case sandbox(Record)
    }

    public let provider: String
    public let metrics: ServiceMetrics
    private let find: @Sendable (_ idempotencyKey: String) async throws -> Record?
    private let insert: @Sendable (Record) async throws -> Void
    private let update: @Sendable (Record) async throws -> Record

    public init(
        provider: String, metrics: ServiceMetrics, find: @escaping @Sendable (String) async throws -> Record?,
        insert: @escaping @Sendable (Record) async throws -> Void, update: @escaping @Sendable (Record) async throws -> Record
    ) {
        self.provider = provider
        self.metrics = metrics
        self.find = find
        self.insert = insert
        self.update = update
    }

    /// `prepare` checks what must hold before anything is stored (an opt-out, a configured provider)
    /// and makes the `queued` record; `deliver` calls the provider and never throws.
    public func send(
        idempotencyKey: String?, prepare: () async throws -> Record, deliver: (Record) async -> Delivery
    ) async throws -> Record {
        if let key = idempotencyKey, let existing = try await find(key) { return existing }
        let queued = try await prepare()
        do {
            try await insert(queued)
        } catch DatabaseError.uniqueViolation {
            // The same key raced in from another request: that one's message is the answer.
            guard let key = idempotencyKey, let existing = try await find(key) else { throw DatabaseError.uniqueViolation }
            return existing
        }
        switch await deliver(queued) {
        case .sent(let record):
            metrics.increment("provider_requests_total", labels: ["provider": provider, "outcome": "sent"])
            return try await update(record)
        case .failed(let record):
            metrics.increment("provider_requests_total", labels: ["provider": provider, "outcome": "failed"])
            return try await update(record)
        case .sandbox(let record):
            return try await update(record)
        }
    }
}
