import AsyncHTTPClient
import CloudGreetCore
import Foundation
import NIOCore
import ServiceClients
import ServiceKit

/// `GET /api/health`: one check per service and per service database, cached for 5 s.
/// `overall` is `unhealthy` (HTTP 503) when identity or any database is down, `degraded` when
/// anything else fails, else `healthy`. The database of a service that cannot be reached is
/// reported as `unknown` and does not by itself make the whole unhealthy.
struct HealthAggregator: Sendable {
    struct Report: Sendable {
        let checks: [JSONValue]
        let overall: String
        let takenAt: Date
    }

    private let config: ServiceConfig
    private let http: HTTPClient
    /// Shared with the proxy: a probe that reaches a service closes its breaker at once, a failed one counts.
    private let breakers: CircuitBreakers
    private let startedAt = Date()
    /// The last report, for at most 5 s.
    private let cache = TTLCache<String, Report>(ttl: 5, capacity: 1)

    init(config: ServiceConfig, http: HTTPClient, breakers: CircuitBreakers) {
        self.config = config
        self.http = http
        self.breakers = breakers
    }

    func report(useCache: Bool) async -> Report {
        if useCache, let cached = cache.value("report") { return cached }
        let fresh = await collect()
        cache.store("report", fresh)
        return fresh
    }

    func json(_ report: Report, detailed: Bool) -> JSONValue {
        let checks =
            detailed
            ? report.checks
            : report.checks.map { check -> JSONValue in
                guard case .object(var object) = check else { return check }
                object["message"] = nil
                return .object(object)
            }
        return [
            "overall": .string(report.overall), "checks": .array(checks), "timestamp": JSONValue(report.takenAt),
            "version": .string(CloudGreetVersion.current),
            "uptime": JSONValue(Int(Date().timeIntervalSince(startedAt) * 1000)),
            "environment": .string(config.environment),
        ]
    }

    private func collect() async -> Report {
        let services = ServiceName.allCases.filter { $0 != .gateway }
        let results = await withTaskGroup(of: (ServiceName, ServiceProbe).self) { group in
            for service in services {
                group.addTask { [config, http, breakers] in
                    let probe = await ServiceProbe.run(url: config.url(of: service) + "/health", http: http)
                    probe.reachable ? breakers[service].recordSuccess(.normal) : breakers[service].recordFailure(.normal)
                    return (service, probe)
                }
            }
            var collected: [ServiceName: ServiceProbe] = [:]
            for await (service, probe) in group { collected[service] = probe }
            return collected
        }
        var checks: [JSONValue] = [
            HealthCheck(name: "gateway", healthy: true, message: "Gateway is running", durationMilliseconds: 0).json()
        ]
        var unhealthy = false
        var degraded = false
        for service in services {
            let probe = results[service] ?? ServiceProbe(reachable: false, message: "Not checked", milliseconds: 0, database: nil)
            checks.append(
                HealthCheck(
                    name: service.rawValue, healthy: probe.reachable, message: probe.message,
                    durationMilliseconds: probe.milliseconds
                ).json())
            if !probe.reachable {
                degraded = true
                if service == .identity { unhealthy = true }
            }
            guard service.hasDatabase else { continue }
            let name = "\(service.rawValue)-database"
            if let database = probe.database {
                var check = database
                if case .object(var object) = check {
                    object["name"] = .string(name)
                    check = .object(object)
                }
                checks.append(check)
                if database["status"]?.stringValue != "healthy" { unhealthy = true }
            } else {
                checks.append([
                    "name": .string(name), "status": "unknown", "duration": 0,
                    "message": .string("Not checked: \(service.rawValue) is unreachable"),
                    "timestamp": JSONValue(Date()),
                ])
            }
        }
        let overall = unhealthy ? "unhealthy" : degraded ? "degraded" : "healthy"
        return Report(checks: checks, overall: overall, takenAt: Date())
    }
}

private struct ServiceProbe: Sendable {
    var reachable: Bool
    var message: String
    var milliseconds: Int
    var database: JSONValue?

    static func run(url: String, http: HTTPClient) async -> ServiceProbe {
        let start = ContinuousClock.now
        func elapsed() -> Int { Int(((ContinuousClock.now - start) / .milliseconds(1)).rounded()) }
        do {
            let response = try await http.execute(HTTPClientRequest(url: url), timeout: .seconds(1))
            let body = try await response.body.collect(upTo: 1 << 20)
            let json = try? JSONValue.decode(body.readableBytesView)
            let database = json?["data"]?["checks"]?.arrayValue?.first { $0["name"]?.stringValue == "database" }
            return ServiceProbe(
                reachable: true, message: "Responded with HTTP \(response.status.code) in \(elapsed())ms",
                milliseconds: elapsed(), database: database)
        } catch {
            return ServiceProbe(reachable: false, message: "Not reachable", milliseconds: elapsed(), database: nil)
        }
    }
}
