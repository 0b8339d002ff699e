import Foundation

/// The one way this code base retries: at most `attempts` tries, exponential backoff from
/// `baseDelay` with jitter (half to all of the step), capped at `maxDelay`; a wait the other side
/// asked for (`Retry-After`) is honoured, capped too; and no wait goes past `deadline`, counted from
/// the first try. Provider calls, internal calls, reset emails and the durable queues all use it.
public struct RetryPolicy: Sendable {
    public var attempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    public var deadline: Duration?

    public init(
        attempts: Int = 3, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10),
        deadline: Duration? = nil
    ) {
        self.attempts = max(1, attempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.deadline = deadline
    }

    /// What to do after one try.
    public enum Decision: Sendable, Equatable {
        case stop
        /// Try again, after `after` when the other side said how long (`Retry-After`), else the backoff.
        case retry(after: Duration?)
    }

    /// Runs `operation` until `decide` stops it or the attempts or the deadline run out; returns its
    /// last value or throws its last error. Cancellation stops the waiting at once.
    public func run<T>(_ operation: () async throws -> T, decide: (Result<T, any Error>) -> Decision) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 0
        while true {
            attempt += 1
            let result: Result<T, any Error>
            do {
                result = .success(try await operation())
            } catch {
                result = .failure(error)
            }
            if case .failure(let error) = result, error is CancellationError { throw error }
            guard attempt < attempts, case .retry(let asked) = decide(result) else { return try result.get() }
            let wait = asked.map { min($0, maxDelay) } ?? delay(after: attempt)
            if let deadline, clock.now + wait > start + deadline { return try result.get() }
            try await Task.sleep(for: wait)
        }
    }

    /// The wait after the `attempt`-th failure (1-based): what durable queues schedule their next try with.
    public func delay(after attempt: Int) -> Duration {
        let step = min(baseDelay * (1 << min(max(attempt - 1, 0), 30)), maxDelay)
        return step * Double.random(in: 0.5...1.0)
    }

    /// A `Retry-After` header in seconds, when it is one: finite, not negative, capped at `maxDelay`
    /// before it is converted, so that `1e20` or `inf` cannot overflow.
    public func retryAfter(_ header: String?) -> Duration? {
        guard let header, let seconds = Double(header.trimmingCharacters(in: .whitespaces)), seconds.isFinite, seconds >= 0 else {
            return nil
        }
        let capped = min(seconds, Double(maxDelay.components.seconds) + 1)
        return min(.milliseconds(Int(capped * 1000)), maxDelay)
    }
}
