import CloudGreetCore
import Foundation
import Persistence

/// One entry of the seed's `checks` list.
public struct HealthCheck: Sendable {
    public var name: String
    public var healthy: Bool
    public var message: String
    public var durationMilliseconds: Int
    public var timestamp: Date

    public init(name: String, healthy: Bool, message: String, durationMilliseconds: Int, timestamp: Date = Date()) {
        self.name = name
        self.healthy = healthy
        self.message = message
        self.durationMilliseconds = durationMilliseconds
        self.timestamp = timestamp
    }

    public func json(detailed: Bool = true) -> JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(name), "status": .string(healthy ? "healthy" : "unhealthy"),
            "duration": JSONValue(durationMilliseconds), "timestamp": JSONValue(timestamp),
        ]
        if detailed { object["message"] = .string(message) }
        return .object(object)
    }

    /// Times a `SELECT 1` on the service's database.
    public static func database(_ database: any Database, name: String = "database") async -> HealthCheck {
        let start = ContinuousClock.now
        let healthy: Bool
        do {
            _ = try await withTimeout(seconds: 2) { try await database.query("SELECT 1 AS ok") }
            healthy = true
        } catch {
            healthy = false
        }
        let elapsed = (ContinuousClock.now - start) / .milliseconds(1)
        let milliseconds = Int(elapsed.rounded())
        return HealthCheck(
            name: name, healthy: healthy,
            message: healthy ? "Database is healthy. Query time: \(milliseconds)ms" : "Database is not reachable",
            durationMilliseconds: milliseconds)
    }
}

public struct TimeoutError: Error {}

/// Runs `body`, giving up after `seconds`.
public func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            throw TimeoutError()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw TimeoutError() }
        return first
    }
}
