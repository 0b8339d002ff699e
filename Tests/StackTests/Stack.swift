import CloudGreetCore
import Foundation
import TestSupport

/// The real executables, each its own process on its own port, wired together by environment
/// variables exactly as in deployment. Tests talk to the gateway only (except where a test checks
/// that a service refuses a direct call).
final class Stack: @unchecked Sendable {
    // @unchecked: the stack is owned by one test; `processes` is only touched from it.
    let directory: String
    let ports: [ServiceName: Int]
    let environment: [String: String]
    let databases: [ServiceName: String]
    private(set) var processes: [ServiceName: ManagedProcess] = [:]
    private var extras: [ManagedProcess] = []

    static let jwtSecret = "stack-test-jwt-secret-0123456789abcdef"
    static let metricsToken = "stack-test-metrics-token"

    var gateway: String { "http://127.0.0.1:\(ports[.gateway]!)" }
    var api: String { gateway + "/api" }
    func url(_ service: ServiceName) -> String { "http://127.0.0.1:\(ports[service]!)" }

    /// `databases` gives a DATABASE_URL per service (PostgreSQL runs); by default each uses SQLite.
    init(
        services: [ServiceName] = ServiceName.allCases, environment extra: [String: String] = [:],
        databases: [ServiceName: String] = [:]
    ) async throws {
        directory = TestEnvironment.temporaryDirectory()
        var ports: [ServiceName: Int] = [:]
        for service in ServiceName.allCases {
            // The OS may hand the same free port out twice in a row; two services on one port would
            // leave one of them answering for both.
            var port = TestEnvironment.freePort()
            while ports.values.contains(port) { port = TestEnvironment.freePort() }
            ports[service] = port
        }
        self.ports = ports
        var environment: [String: String] = [
            "CLOUDGREET_ENV": "development", "CLOUDGREET_DATA_DIR": directory, "BCRYPT_COST": "4",
            "LOG_FORMAT": "json", "LOG_LEVEL": "info", "JWT_SECRET": Self.jwtSecret,
            "INTERNAL_SECRET": "stack-test-internal-secret-0123456789", "HOST": "127.0.0.1", "METRICS_TOKEN": Self.metricsToken,
        ]
        for service in ServiceName.allCases { environment[service.urlVariable] = "http://127.0.0.1:\(ports[service]!)" }
        environment.merge(extra) { $1 }
        self.environment = environment
        self.databases = databases
        for service in services {
            try start(service, databaseURL: databases[service])
        }
        for service in services { try await waitUntilUp(service) }
    }

    /// Waits for the service to answer; if it never does, the failure says whether it exited and
    /// ends with its last log lines (a port taken, a migration failing).
    private func waitUntilUp(_ service: ServiceName) async throws {
        do {
            try await TestHTTP.waitUntilUp(url(service) + "/health")
        } catch {
            let process = processes[service]
            let state = process.map { $0.isRunning ? "still running" : "exited with \($0.exitStatus.map(String.init) ?? "?")" } ?? "not started"
            let tail = (process?.log ?? "").split(separator: "\n").suffix(15).joined(separator: "\n")
            throw TestFailure("\(service.rawValue) on port \(ports[service] ?? 0) did not answer (\(state)):\n\(tail)")
        }
    }

    func start(
        _ service: ServiceName, databaseURL: String? = nil, port: Int? = nil, name: String? = nil,
        extra: [String: String] = [:]
    ) throws {
        var env = environment
        env["PORT"] = String(port ?? ports[service]!)
        if let databaseURL { env["DATABASE_URL"] = databaseURL }
        env.merge(extra) { $1 }
        let process = try ManagedProcess(
            name: name ?? service.rawValue,
            executable: "\(TestEnvironment.binDirectory)/cloudgreet-\(service.rawValue)",
            environment: env, logDirectory: directory)
        if name == nil { processes[service] = process } else { extras.append(process) }
    }

    func kill(_ service: ServiceName) { processes[service]?.kill() }

    /// Stops the service (SIGTERM, drained) and starts it again with the same settings.
    func restart(_ service: ServiceName) async throws {
        processes[service]?.stop()
        try start(service, databaseURL: databases[service])
        try await waitUntilUp(service)
    }

    /// Another process of the service on its own port, sharing the service's database.
    func startReplica(_ service: ServiceName) async throws {
        let port = TestEnvironment.freePort()
        try start(
            service, databaseURL: databases[service] ?? "sqlite://\(directory)/\(service.rawValue).sqlite", port: port,
            name: "\(service.rawValue)-replica")
        try await TestHTTP.waitUntilUp("http://127.0.0.1:\(port)/health")
    }

    func stop() {
        for process in Array(processes.values) + extras { process.stop() }
    }

    /// Every log line of every service, for checks on what is (not) logged.
    var logs: String { (Array(processes.values) + extras).map(\.log).joined(separator: "\n") }

    // MARK: API helpers

    func call(
        _ method: HTTPMethodName, _ path: String, _ json: JSONValue? = nil, token: String? = nil,
        headers: [(String, String)] = []
    ) async throws -> TestResponse {
        try await TestHTTP.request(.init(rawValue: method.rawValue), api + path, json: json, headers: headers, token: token)
    }

    /// `/health` uncached, asked again until it is `overall` (or 15 s pass): the gateway gives each
    /// service 1 s to answer, which a loaded machine may miss once.
    func health(_ overall: String) async throws -> TestResponse {
        let deadline = Date().addingTimeInterval(15)
        while true {
            let health = try await call(.GET, "/health?cache=false")
            if health.data["overall"]?.stringValue == overall || Date() > deadline { return health }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    struct Account {
        let token: String
        let userID: String
        let businessID: String
        let email: String
    }

    func register(_ email: String, password: String = "password123", business: String = "Acme Plumbing") async throws -> Account {
        let reply = try await call(
            .POST, "/auth/register",
            [
                "email": .string(email), "password": .string(password), "business_name": .string(business),
                "first_name": "Pat", "last_name": "Lee",
            ])
        guard reply.status == 201, let token = reply.data["token"]?.stringValue,
            let user = reply.data["user"]?["id"]?.stringValue, let business = reply.data["business"]?["id"]?.stringValue
        else { throw TestFailure("register failed: \(reply.status) \(reply.text)") }
        return Account(token: token, userID: user, businessID: business, email: email)
    }
}

// swift-format-ignore: AlwaysUseLowerCamelCase
// Spelled as HTTP spells them, so that tests read `stack.call(.POST, ...)`.
enum HTTPMethodName: String { case GET, POST, PUT, DELETE, PATCH }
