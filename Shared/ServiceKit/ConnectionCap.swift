import NIOCore
import Synchronization

/// How many connections one client may hold open at once, so that one client (stalled headers,
/// slow uploads, idle keep-alives) cannot take every connection of a public server. `clientKey`
/// says which addresses are one client (an IPv6 /64, say); addresses for which `isExempt` holds
/// (trusted proxies, which carry many clients) are not counted.
public final class ConnectionCap: Sendable {
    private let limit: Int
    private let isExempt: @Sendable (String) -> Bool
    private let clientKey: @Sendable (String) -> String
    private let open = Mutex<[String: Int]>([:])

    public init(
        perClient limit: Int, clientKey: @escaping @Sendable (String) -> String = { $0 },
        isExempt: @escaping @Sendable (String) -> Bool = { _ in false }
    ) {
        self.limit = max(1, limit)
        self.clientKey = clientKey
        self.isExempt = isExempt
    }

    /// A handler for one new connection's pipeline.
    public func handler() -> any RemovableChannelHandler { Handler(cap: self) }

    /// The key counted for a new connection from `address`, or nil when it is refused.
    func admit(_ address: String) -> String? {
        if isExempt(address) { return "" }
        let key = clientKey(address)
        return open.withLock { counts in
            guard counts[key, default: 0] < limit else { return nil }
            counts[key, default: 0] += 1
            return key
        }
    }

    func release(_ key: String) {
        guard !key.isEmpty else { return }
        open.withLock { counts in
            let left = counts[key, default: 1] - 1
            counts[key] = left > 0 ? left : nil
        }
    }

    final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny
        private let cap: ConnectionCap
        /// The key counted for this connection, once it was admitted ("" when exempt).
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
            counted = cap.admit(address)
            if counted == nil { context.close(promise: nil) }
        }
    }
}
