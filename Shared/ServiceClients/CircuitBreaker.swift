import CloudGreetCore
import Foundation
import Synchronization

/// Fails fast while an upstream is down: after `threshold` failures in a row it opens for
/// `cooldown`, then lets one trial request through (half-open) before closing again. Only the
/// holder of the trial frees it, on every way its request ends.
public final class CircuitBreaker: Sendable {
    /// What `allowRequest` granted: an ordinary request, or the one half-open trial.
    public enum Permit: Sendable, Equatable { case normal, trial }

    private struct State {
        var consecutiveFailures = 0
        var openUntil: Date?
        var trialInFlight = false
    }

    private let threshold: Int
    private let cooldown: TimeInterval
    /// A lock, not an actor: the gateway's fast lane asks on the event loop, where it cannot await.
    private let state = Mutex(State())

    public init(threshold: Int = 5, cooldown: TimeInterval = 2) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    /// nil while open (or while another request holds the trial).
    public func allowRequest(now: Date = Date()) -> Permit? {
        state.withLock { state in
            guard let openUntil = state.openUntil else { return .normal }
            if now < openUntil || state.trialInFlight { return nil }
            state.trialInFlight = true
            return .trial
        }
    }

    /// The upstream answered: it is up, whoever asked.
    public func recordSuccess(_ permit: Permit) {
        state.withLock { $0 = State() }
    }

    public func recordFailure(_ permit: Permit, now: Date = Date()) {
        state.withLock { state in
            state.consecutiveFailures += 1
            if permit == .trial { state.trialInFlight = false }
            if state.consecutiveFailures >= threshold { state.openUntil = now.addingTimeInterval(cooldown) }
        }
    }

    /// The request ended for a reason that says nothing about the upstream (the client went away,
    /// the task was cancelled): a trial is freed without counting a success or a failure.
    public func release(_ permit: Permit) {
        if permit == .trial { state.withLock { $0.trialInFlight = false } }
    }

    public var isOpen: Bool { state.withLock { $0.openUntil.map { Date() < $0 } ?? false } }
}

/// One breaker per service, made up front, so a lookup never fails.
public struct CircuitBreakers: Sendable {
    private let byService: [ServiceName: CircuitBreaker]
    private let fallback: CircuitBreaker

    public init(threshold: Int = 5, cooldown: TimeInterval = 2) {
        byService = Dictionary(
            uniqueKeysWithValues: ServiceName.allCases.map {
                ($0, CircuitBreaker(threshold: threshold, cooldown: cooldown))
            })
        fallback = CircuitBreaker(threshold: threshold, cooldown: cooldown)
    }

    public subscript(service: ServiceName) -> CircuitBreaker { byService[service] ?? fallback }
}
