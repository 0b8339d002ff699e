import AsyncHTTPClient
import CloudGreetCore
import Foundation
import Persistence

public struct PostgresMissing: Error, CustomStringConvertible {
    public var description: String {
        "CLOUDGREET_TEST_POSTGRES_URL is not set: run the tests with `make test`, which starts a throwaway PostgreSQL"
    }
}

public enum TestEnvironment {
    /// A fresh, empty PostgreSQL database for one test, or nil when no test cluster is running.
    /// Under CI a missing cluster is an error, never a skip.
    public static func postgresDatabaseURL() async throws -> String? {
        guard let (url, create) = try postgresDatabaseNotYetCreated() else { return nil }
        try await create()
        return url
    }

    /// The URL of a PostgreSQL database that does not exist yet, and what creates it: for a service
    /// that must wait for its database. Nil when no test cluster is running.
    public static func postgresDatabaseNotYetCreated() throws -> (url: String, create: @Sendable () async throws -> Void)? {
        guard let admin = ProcessInfo.processInfo.environment["CLOUDGREET_TEST_POSTGRES_URL"] else {
            if ProcessInfo.processInfo.environment["CI"] != nil { throw PostgresMissing() }
            return nil
        }
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        guard var components = URLComponents(string: admin) else { throw PostgresMissing() }
        components.path = "/\(name)"
        guard let url = components.string else { throw PostgresMissing() }
        return (
            url,
            {
                let database = try await PostgresDatabase(url: admin, logLabel: "tests")
                try await database.query("CREATE DATABASE \(name)")
                await database.close()
            }
        )
    }

    /// The engines a storage test runs on: SQLite always, PostgreSQL when the cluster is there.
    public static func databaseURLs() async throws -> [String] {
        var urls = ["sqlite://\(temporaryDirectory())/test.sqlite"]
        if let postgres = try await postgresDatabaseURL() { urls.append(postgres) }
        return urls
    }

    public static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "cloudgreet-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A TCP port nobody listens on right now, and that no other test of this run is given.
    /// Ports come in turn from below the kernel's ephemeral range (32768 and up), so that neither
    /// another test nor an outgoing connection's local port can take one between this check and the
    /// service's bind, as happened when ports were picked by binding to port 0 (a stack test then
    /// found another test's service answering on its messaging port).
    public static func freePort() -> Int {
        while true {
            let port = PortSequence.shared.next()
            if canBind(port) { return port }
        }
    }

    private static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        } == 0
    }

    /// Where `swift build` put the executables: next to the test bundle.
    public static var binDirectory: String {
        if let dir = ProcessInfo.processInfo.environment["CLOUDGREET_BIN_DIR"] { return dir }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }

    /// Configuration for a service under test: development defaults, cheap bcrypt, and a data
    /// directory of its own (tests run side by side, and SQLite files are not to be shared).
    public static func config(_ service: ServiceName, _ values: [String: String] = [:]) throws -> ServiceConfig {
        var environment = [
            "CLOUDGREET_ENV": "development", "BCRYPT_COST": "4", "LOG_LEVEL": "error", "CLOUDGREET_DATA_DIR": temporaryDirectory(),
        ]
        environment.merge(values) { $1 }
        return try ServiceConfig(service: service, environment: environment)
    }
}

/// Ports 20000-32767 in turn, from a random start so that two test runs on one machine rarely meet.
private final class PortSequence: @unchecked Sendable {
    // @unchecked: `next` is the only access, under the lock.
    static let shared = PortSequence()
    private static let range = 20000..<32768
    private let lock = NSLock()
    private var current = Int.random(in: range)

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        current = current + 1 < Self.range.upperBound ? current + 1 : Self.range.lowerBound
        return current
    }
}
