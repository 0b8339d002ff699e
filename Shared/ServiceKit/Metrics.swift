import Foundation
import Synchronization

/// In-process counters and latency histograms, rendered as Prometheus text on `/metrics`.
/// A lock, not an actor: every request counts here, the gateway's fast lane from the event loop.
public final class ServiceMetrics: Sendable {
    private struct HistogramState {
        var buckets: [Int]
        var sum = 0.0
        var count = 0
    }

    /// Series are kept by their labels as given and formatted only when rendered: formatting on
    /// every request cost more than counting.
    private struct Series: Hashable {
        let name: String
        let labels: [String: String]
    }

    private struct Route: Hashable {
        let method: String
        let route: String
    }

    private struct Requests: Hashable {
        let route: Route
        let status: Int
    }

    private struct State {
        var counters: [Series: Double] = [:]
        var requests: [Requests: Double] = [:]
        var histograms: [Route: HistogramState] = [:]
    }

    static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    private let service: String
    private let state = Mutex(State())

    /// Filled from the event loops (see `EventLoopLag`).
    public let eventLoopLag = EventLoopLag()

    public init(service: String) { self.service = service }

    public func recordRequest(method: String, route: String, status: Int, seconds: Double) {
        let key = Route(method: method, route: route)
        state.withLock { state in
            state.requests[Requests(route: key, status: status), default: 0] += 1
            var histogram = state.histograms[key] ?? HistogramState(buckets: Array(repeating: 0, count: Self.bounds.count))
            for (index, bound) in Self.bounds.enumerated() where seconds <= bound { histogram.buckets[index] += 1 }
            histogram.sum += seconds
            histogram.count += 1
            state.histograms[key] = histogram
        }
    }

    /// Any other counter: outbound provider calls, rate-limit rejections, upstream failures.
    public func increment(_ name: String, labels: [String: String]) {
        let series = Series(name: name, labels: labels)
        state.withLock { $0.counters[series, default: 0] += 1 }
    }

    public func value(_ name: String, labels: [String: String]) -> Double {
        let series = Series(name: name, labels: labels)
        return state.withLock { $0.counters[series] ?? 0 }
    }

    public func render() -> String {
        let (counters, requests, histograms) = state.withLock { ($0.counters, $0.requests, $0.histograms) }
        var series: [String: [String: Double]] = [:]  // name -> formatted labels -> value
        for (key, value) in counters { series[key.name, default: [:]][Self.format(key.labels), default: 0] += value }
        for (key, value) in requests {
            let labels = Self.format(["method": key.route.method, "route": key.route.route, "status": String(key.status)])
            series["http_requests_total", default: [:]][labels, default: 0] += value
        }
        var lines: [String] = []
        let serviceLabel = "service=\"\(service)\""
        for (name, values) in series.sorted(by: { $0.key < $1.key }) {
            lines.append("# TYPE \(name) counter")
            for (labels, value) in values.sorted(by: { $0.key < $1.key }) {
                let all = labels.isEmpty ? serviceLabel : serviceLabel + "," + labels
                lines.append("\(name){\(all)} \(Self.number(value))")
            }
        }
        lines.append("# TYPE http_request_duration_seconds histogram")
        let routes = histograms.map { (Self.format(["method": $0.key.method, "route": $0.key.route]), $0.value) }
        for (labels, state) in routes.sorted(by: { $0.0 < $1.0 }) {
            for (index, bound) in Self.bounds.enumerated() {
                lines.append("http_request_duration_seconds_bucket{\(serviceLabel),\(labels),le=\"\(bound)\"} \(state.buckets[index])")
            }
            lines.append("http_request_duration_seconds_bucket{\(serviceLabel),\(labels),le=\"+Inf\"} \(state.count)")
            lines.append("http_request_duration_seconds_sum{\(serviceLabel),\(labels)} \(state.sum)")
            lines.append("http_request_duration_seconds_count{\(serviceLabel),\(labels)} \(state.count)")
        }
        lines += eventLoopLag.render(serviceLabel: serviceLabel)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Labels as Prometheus writes them, by name.
    private static func format(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(escape($0.value))\"" }.joined(separator: ",")
    }

    private static func number(_ value: Double) -> String {
        value.rounded() == value ? String(Int64(value)) : String(value)
    }

    private static func escape(_ text: String) -> String {
        // Labels almost never need it, and Foundation's replacing costs more than the rest of a request's metrics.
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            return text
        }
        return text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
