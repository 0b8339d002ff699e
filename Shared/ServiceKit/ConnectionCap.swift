import NIOCore
import Synchronization

/// How many connections one address may hold open at once, so that one client (stalled headers,
/// slow uploads, idle keep-alives) cannot take every connection of a public server. Addresses for
/// which `isExempt` holds (trusted proxies, which carry many clients) are not counted.
public final class ConnectionCap: Sendable {
    private let limit: Int
    private let isExempt: @Sendable (String) -> Bool
    private let open = Mutex<[String: Int]>([:])

    public init(perClient limit: Int, isExempt: @escaping @Sendable (String) -> Bool = { _ in false }) {
        self.limit = max(1, limit)
        self.isExempt = isExempt
    }

    /// A handler for one new connection's pipeline.
    public func handler() -> any RemovableChannelHandler { Handler(cap: self) }

    func admit(_ address: String) -> Bool {
        if isExempt(address) { return true }
        return open.withLock { counts in
            guard counts[address, default: 0] < limit else { return false }
            counts[address, default: 0] += 1
            return true
        }
    }

    func release(_ address: String) {
        if isExempt(address) { return }
        open.withLock { counts in
            let left = counts[address, default: 1] - 1
            counts[address] = left > 0 ? left : nil
        }
    }

    final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny
        private let cap: ConnectionCap
        /// The address counted for this connection, once it was admitted.
        private var counted: String?
        private var checked = false

        init(cap: ConnectionCap) { self.cap = cap }

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { check(context) }
        }

        func channelActive(context: ChannelHandlerContext) {
            check(context)
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            if let counted { cap.release(counted) }
            counted = nil
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }

        private func check(_ context: ChannelHandlerContext) {
            guard !checked else { return }
            checked = true
            let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
            if cap.admit(address) { counted = address } else { context.close(promise: nil) }
        }
    }
}
