import CloudGreetCore
import Foundation

/// Fails fast while an upstream is down: after `threshold` failures in a row it opens for
/// `cooldown`, then lets one trial request through (half-open) before closing again.
public actor CircuitBreaker {
    private let threshold: Int
    private let cooldown: TimeInterval
    private var consecutiveFailures = 0
    private var openUntil: Date?
    private var trialInFlight = false

    public init(threshold: Int = 5, cooldown: TimeInterval = 2) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    public func allowRequest(now: Date = Date()) -> Bool {
        guard let openUntil else { return true }
        if now < openUntil || trialInFlight { return false }
        trialInFlight = true
        return true
    }

    public func recordSuccess() {
        consecutiveFailures = 0
        openUntil = nil
        trialInFlight = false
    }

    public func recordFailure(now: Date = Date()) {
        consecutiveFailures += 1
        trialInFlight = false
        if consecutiveFailures >= threshold { openUntil = now.addingTimeInterval(cooldown) }
    }

    /// The request ended for a reason that says nothing about the upstream (the client went away,
    /// the task was cancelled): frees the half-open trial without counting a success or a failure.
    public func release() {
        trialInFlight = false
    }

    public var isOpen: Bool { openUntil.map { Date() < $0 } ?? false }
}

/// One breaker per service, made up front, so a lookup never fails.
public struct CircuitBreakers: Sendable {
    private let byService: [ServiceName: CircuitBreaker]
    private let fallback: CircuitBreaker

    public init(threshold: Int = 5, cooldown: TimeInterval = 2) {
        byService = Dictionary(uniqueKeysWithValues: ServiceName.allCases.map {
            ($0, CircuitBreaker(threshold: threshold, cooldown: cooldown))
        })
        fallback = CircuitBreaker(threshold: threshold, cooldown: cooldown)
    }

    public subscript(service: ServiceName) -> CircuitBreaker { byService[service] ?? fallback }
}
