import ServiceLifecycle

/// A background worker that runs `work` every `interval` until the service shuts down gracefully:
/// how crm's reminders and messaging's webhook inbox are driven.
public struct PollingService: Service {
    let interval: Duration
    let work: @Sendable () async -> Void

    public init(every interval: Duration, _ work: @escaping @Sendable () async -> Void) {
        self.interval = interval
        self.work = work
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await work()
                try? await Task.sleep(for: interval)
            }
        }
    }
}
