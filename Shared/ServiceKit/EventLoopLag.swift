import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// How late the event loops run a timer, as the `event_loop_lag_seconds` histogram on `/metrics`.
/// Each loop of the process's group runs a tick every `interval`; a tick that starts late means
/// the loop was busy or blocked (a blocking call on a loop shows here as lag about as long as the
/// call). It is how `make bench` checks that libcurl transfers never hold a loop.
public final class EventLoopLag: Sendable {
    static let bounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
    static let interval = TimeAmount.milliseconds(25)

    private struct State {
        var buckets = [Int](repeating: 0, count: EventLoopLag.bounds.count)
        var count = 0
        var sum = 0.0
        var max = 0.0
    }

    private let state = Mutex(State())

    public init() {}

    func record(_ seconds: Double) {
        state.withLock { state in
            for (index, bound) in Self.bounds.enumerated() where seconds <= bound { state.buckets[index] += 1 }
            state.count += 1
            state.sum += seconds
            state.max = Swift.max(state.max, seconds)
        }
    }

    /// Prometheus text: the histogram and the largest lag seen.
    func render(serviceLabel: String) -> [String] {
        let snapshot = state.withLock { $0 }
        var lines = ["# TYPE event_loop_lag_seconds histogram"]
        for (index, bound) in Self.bounds.enumerated() {
            lines.append("event_loop_lag_seconds_bucket{\(serviceLabel),le=\"\(bound)\"} \(snapshot.buckets[index])")
        }
        lines.append("event_loop_lag_seconds_bucket{\(serviceLabel),le=\"+Inf\"} \(snapshot.count)")
        lines.append("event_loop_lag_seconds_sum{\(serviceLabel)} \(snapshot.sum)")
        lines.append("event_loop_lag_seconds_count{\(serviceLabel)} \(snapshot.count)")
        lines.append("# TYPE event_loop_lag_max_seconds gauge")
        lines.append("event_loop_lag_max_seconds{\(serviceLabel)} \(snapshot.max)")
        return lines
    }

    /// Ticks on every loop of `group` until the returned tasks are cancelled.
    func watch(_ group: any EventLoopGroup) -> [RepeatedTask] {
        group.makeIterator().map { loop in
            // When the next tick is due, set by the first; only ever touched on its own loop.
            let due = NIOLoopBoundBox.makeEmptyBox(valueType: NIODeadline.self, eventLoop: loop)
            return loop.scheduleRepeatedTask(initialDelay: Self.interval, delay: Self.interval) { [self] _ in
                let now = NIODeadline.now()
                if let due = due.value { record(Double(max(0, (now - due).nanoseconds)) / 1e9) }
                due.value = now + Self.interval
            }
        }
    }

    /// Watches the group while the service runs.
    struct Monitor: Service {
        let lag: EventLoopLag
        let group: any EventLoopGroup

        func run() async throws {
            let tasks = lag.watch(group)
            try? await gracefulShutdown()
            for task in tasks { task.cancel() }
        }
    }
}
