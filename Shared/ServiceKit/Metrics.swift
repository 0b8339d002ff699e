import Foundation

/// In-process counters and latency histograms, rendered as Prometheus text on `/metrics`.
public actor ServiceMetrics {
    private struct HistogramState {
        var buckets: [Int]
        var sum = 0.0
        var count = 0
    }

    static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    private let service: String
    private var counters: [String: [String: Double]] = [:]  // metric name -> label set -> value
    private var histograms: [String: HistogramState] = [:]  // label set -> histogram

    /// Filled from the event loops, outside the actor (see `EventLoopLag`).
    public nonisolated let eventLoopLag = EventLoopLag()

    public init(service: String) { self.service = service }

    public func recordRequest(method: String, route: String, status: Int, seconds: Double) {
        let labels = "method=\"\(method)\",route=\"\(Self.escape(route))\",status=\"\(status)\""
        increment("http_requests_total", labels: labels)
        let histogramLabels = "method=\"\(method)\",route=\"\(Self.escape(route))\""
        var state = histograms[histogramLabels] ?? HistogramState(buckets: Array(repeating: 0, count: Self.bounds.count))
        for (index, bound) in Self.bounds.enumerated() where seconds <= bound { state.buckets[index] += 1 }
        state.sum += seconds
        state.count += 1
        histograms[histogramLabels] = state
    }

    /// Any other counter: outbound provider calls, rate-limit rejections, upstream failures.
    public func increment(_ name: String, labels: [String: String]) {
        increment(
            name,
            labels: labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escape($0.value))\"" }
                .joined(separator: ","))
    }

    private func increment(_ name: String, labels: String) {
        counters[name, default: [:]][labels, default: 0] += 1
    }

    public func value(_ name: String, labels: [String: String]) -> Double {
        let key = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\(Self.escape($0.value))\"" }.joined(separator: ",")
        return counters[name]?[key] ?? 0
    }

    public func render() -> String {
        var lines: [String] = []
        let serviceLabel = "service=\"\(service)\""
        for (name, series) in counters.sorted(by: { $0.key < $1.key }) {
            lines.append("# TYPE \(name) counter")
            for (labels, value) in series.sorted(by: { $0.key < $1.key }) {
                let all = labels.isEmpty ? serviceLabel : serviceLabel + "," + labels
                lines.append("\(name){\(all)} \(Self.number(value))")
            }
        }
        lines.append("# TYPE http_request_duration_seconds histogram")
        for (labels, state) in histograms.sorted(by: { $0.key < $1.key }) {
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
