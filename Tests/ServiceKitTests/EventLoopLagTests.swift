import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import ServiceKit

@Suite struct EventLoopLagTests {
    func maxLag(_ lag: EventLoopLag) -> Double {
        let line = lag.render(serviceLabel: "service=\"test\"").first { $0.hasPrefix("event_loop_lag_max_seconds") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } ?? -1
    }

    @Test func aBlockedLoopShowsAsLag() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let lag = EventLoopLag()
        let tasks = lag.watch(group)
        try await Task.sleep(for: .milliseconds(100))
        // What a blocking call on the loop would do: hold it for 200 ms.
        try await group.next().submit { _ = usleep(200_000) }.get()
        try await Task.sleep(for: .milliseconds(100))
        for task in tasks { task.cancel() }
        try await group.shutdownGracefully()
        #expect(maxLag(lag) >= 0.15)
        let count = lag.render(serviceLabel: "service=\"test\"").first { $0.hasPrefix("event_loop_lag_seconds_count") }
        #expect(count.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0 >= 4)
    }
}
