import Hummingbird
import Synchronization

/// A router served on 127.0.0.1 at a port the system picks, until stopped: the server behind each
/// stand-in provider.
final class LocalServer: Sendable {
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let portBox = Mutex(0)

    var port: Int { portBox.withLock { $0 } }

    /// Starts serving `router` (on `port`, or one the system picks); returns once the port is known.
    func start(_ router: Router<BasicRequestContext>, port: Int = 0) async {
        let (ready, signal) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                signal.yield(channel.localAddress?.port ?? 0)
                signal.finish()
            })
        task.withLock { $0 = Task { try await app.run() } }
        for await port in ready { portBox.withLock { $0 = port } }
    }

    func stop() { task.withLock { $0?.cancel() } }
}
