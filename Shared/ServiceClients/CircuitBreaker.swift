import CloudGreetCore
import Foundation

/// Fails fast while an upstream is down: after `threshold` failures in a row it opens for
/// `cooldown`, then lets one trial request through (half-open) before closing again. Only the
/// holder of the trial frees it, on every way its request ends.
public actor CircuitBreaker {
    /// What `allowRequest` granted: an ordinary request, or the one half-open trial.
    public enum Permit: Sendable, Equatable { case normal, trial }

    private let threshold: Int
    private let cooldown: TimeInterval
    private var consecutiveFailures = 0
    private var openUntil: Date?
    private var trialInFlight = false

    public init(threshold: Int = 5, cooldown: TimeInterval = 2) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    /// nil while open (or while another request holds the trial).
    public func allowRequest(now: Date = Date()) -> Permit? {
        guard let openUntil else { return .normal }
        if now < openUntil || trialInFlight { return nil }
        trialInFlight = true
        return .trial
    }

    /// The upstream answered: it is up, whoever asked.
    public func recordSuccess(_ permit: Permit) {
        consecutiveFailures = 0
        openUntil = nil
        trialInFlight = false
    }

    public func recordFailure(_ permit: Permit, now: Date = Date()) {
        consecutiveFailures += 1
        if permit == .trial { trialInFlight = false }
        if consecutiveFailures >= threshold { openUntil = now.addingTimeInterval(cooldown) }
    }

    /// The request ended for a reason that says nothing about the upstream (the client went away,
    /// the task was cancelled): a trial is freed without counting a success or a failure.
    public func release(_ permit: Permit) {
        if permit == .trial { trialInFlight = false }
    }

    public var isOpen: Bool { openUntil.map { Date() < $0 } ?? false }
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
