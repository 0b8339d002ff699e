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

    public var isOpen: Bool { openUntil.map { Date() < $0 } ?? false }
}
