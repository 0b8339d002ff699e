import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A business's webhook endpoint: records every POST (headers and raw body) and answers 200, or
/// 500 to the first tries of the first event (`failFirstEvent`). It can be stopped and started
/// again on the same port, to stand for an endpoint that is down for a while.
public final class WebhookReceiver: Sendable {
    public struct Delivery: Sendable {
        public let signature: String?
        public let eventID: String?
        public let body: [UInt8]
        public let status: Int
        public var json: JSONValue { (try? JSONValue.decode(body)) ?? .null }
        public var type: String? { json["type"]?.stringValue }
    }

    private struct State {
        var deliveries: [Delivery] = []
        var failures = 0
        var failing: String?
        var answerBytes = 0
    }
    private let state = Mutex(State())
    private let server = Mutex<LocalServer?>(nil)
    private let portBox = Mutex(0)

    public init() {}

    private static let signature = HTTPField.Name("CloudGreet-Signature")
    private static let eventID = HTTPField.Name("CloudGreet-Event-Id")

    public var url: String { "http://127.0.0.1:\(portBox.withLock { $0 })/hooks" }
    /// Everything received, failed answers included, in order.
    public var deliveries: [Delivery] { state.withLock { $0.deliveries } }
    /// What was answered 2xx, in order.
    public var accepted: [Delivery] { deliveries.filter { (200..<300).contains($0.status) } }
    /// The first event to arrive is answered 500 this many times, then 200; others are not held up.
    public func failFirstEvent(times: Int) { state.withLock { $0.failures = times } }
    /// Every answer carries a body this long.
    public func answer(bytes: Int) { state.withLock { $0.answerBytes = bytes } }

    public func start() async {
        let router = Router()
        router.post("/hooks") { [self] request, _ -> Response in
            let bytes = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            let eventID = Self.eventID.flatMap { request.headers[$0] }
            let (status, answerBytes) = state.withLock { state -> (Int, Int) in
                if state.failures > 0 && state.failing == nil { state.failing = eventID }
                let fails = state.failures > 0 && eventID == state.failing
                if fails { state.failures -= 1 }
                state.deliveries.append(
                    Delivery(
                        signature: Self.signature.flatMap { request.headers[$0] }, eventID: eventID, body: bytes, status: fails ? 500 : 200))
                return (fails ? 500 : 200, state.answerBytes)
            }
            return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(repeating: 65, count: answerBytes)))
        }
        let local = LocalServer()
        await local.start(router, port: portBox.withLock { $0 })
        portBox.withLock { $0 = local.port }
        server.withLock { $0 = local }
    }

    public func stop() { server.withLock { $0?.stop() } }
}
