import Foundation

/// A real child process (a service executable, an SMTP server) whose output goes to a log file.
public final class ManagedProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched from the test that owns this object.
    public let name: String
    public let logPath: String
    private let process = Process()

    public init(
        name: String, executable: String, arguments: [String] = [], environment: [String: String],
        logDirectory: String
    ) throws {
        self.name = name
        logPath = "\(logDirectory)/\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)!
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasSuffix("_URL") || key == "PORT" || key == "DATABASE_URL" { env[key] = nil }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    public var isRunning: Bool { process.isRunning }
    /// How it ended: its exit code, or the signal that killed it. Nil while it runs.
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// SIGTERM, then waits for the process to drain and exit.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill() }
    }

    /// SIGTERM without waiting: the process drains while the test watches.
    public func terminate() { process.terminate() }

    /// SIGKILL: the process dies at once, as in a crash.
    public func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The files it has mapped (Linux's `/proc/<pid>/maps`): which libraries it has loaded.
    public var mappedFiles: String {
        // Read to the end: /proc reports a size of 0, which `String(contentsOfFile:)` stops short at.
        let file = FileHandle(forReadingAtPath: "/proc/\(process.processIdentifier)/maps")
        defer { try? file?.close() }
        return String(decoding: (try? file?.readToEnd()) ?? Data(), as: UTF8.self)
    }

    /// Waits until the log has a line containing `text`.
    public func waitForLog(_ text: String, seconds: Double = 20) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !log.contains(text) {
            guard Date() < deadline else { throw TestFailure("no log line with '\(text)' in \(seconds) s") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    deinit { stop() }
}

/// Debian's aiosmtpd as a real SMTP server; each message it accepts lands in a Maildir.
public final class SMTPTestServer: Sendable {
    public let port: Int
    public let maildir: String
    private let process: ManagedProcess

    public init(directory: String) async throws {
        port = TestEnvironment.freePort()
        maildir = "\(directory)/maildir"
        process = try ManagedProcess(
            name: "smtp-\(port)", executable: "/usr/bin/python3",
            arguments: ["-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(port)", "-c", "aiosmtpd.handlers.Mailbox", maildir],
            environment: [:], logDirectory: directory)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if Self.canConnect(port: port) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("aiosmtpd did not start: \(process.log)")
    }

    public var url: String { "smtp://127.0.0.1:\(port)" }

    /// The raw messages received so far.
    public func messages() -> [String] {
        let folder = "\(maildir)/new"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        return names.compactMap { try? String(contentsOfFile: "\(folder)/\($0)", encoding: .utf8) }
    }

    /// Waits for a message that contains `text` (in its headers or decoded body).
    public func waitForMessage(containing text: String, seconds: Double = 20) async throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let found = messages().first(where: { Self.decodedBody($0).contains(text) || $0.contains(text) }) {
                return found
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("no email containing \(text) arrived")
    }

    /// The body of a base64 message, decoded.
    public static func decodedBody(_ raw: String) -> String {
        let normalized = raw.replacingOccurrences(of: "\r\n", with: "\n")
        guard let split = normalized.range(of: "\n\n") else { return raw }
        let body = normalized[split.upperBound...].replacingOccurrences(of: "\n", with: "")
        guard let data = Data(base64Encoded: body) else { return String(normalized[split.upperBound...]) }
        return String(decoding: data, as: UTF8.self)
    }

    public func stop() { process.kill() }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
