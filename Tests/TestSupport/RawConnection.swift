import Foundation

/// A plain TCP connection for what an HTTP client library will not do: send half a header, abort a
/// body mid-way, trickle bytes. POSIX sockets, read by polling; for tests only.
public final class RawConnection: @unchecked Sendable {
    // @unchecked: one test owns each connection and uses it from one task.
    private let fd: Int32
    private var isOpen = true

    /// `from` picks the local address (any of 127.0.0.0/8), so a test can be a client of its own.
    public init(port: Int, from source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                _ = Foundation.close(fd)
                throw TestFailure("could not bind to \(source)")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            _ = Foundation.close(fd)
            throw TestFailure("could not connect to port \(port)")
        }
    }

    public func send(_ text: String) { send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// What the server sends until it closes the connection, `seconds` pass, or what came holds
    /// for `done`; `closed` tells whether it closed. Polls without blocking the thread: servers
    /// under test may need this task's thread to answer.
    public func receive(seconds: Double, until done: (String) -> Bool = { _ in false }) async -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline, !done(String(decoding: received, as: UTF8.self)) {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 0) > 0 else {
                try? await Task.sleep(for: .milliseconds(10))
                continue
            }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<count]
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    /// Half-closes: the server reads the end of the request stream, and may still answer.
    public func finishSending() { _ = shutdown(fd, Int32(SHUT_WR)) }

    public func close() {
        guard isOpen else { return }
        isOpen = false
        _ = Foundation.close(fd)
    }

    deinit { close() }
}
