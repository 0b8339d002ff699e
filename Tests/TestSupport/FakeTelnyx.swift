import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A local server that speaks Telnyx's messaging, number and call-control APIs as documented: `POST /v2/messages` with
/// `Authorization: Bearer <key>` and a JSON body `{from, to, text, messaging_profile_id?}`,
/// answering `{"data": {"id", "to": [{"phone_number", "status": "queued"}], ...}}`, or Telnyx's
/// `{"errors": [...]}` with 401 for a wrong key and 422 for a bad body. Tests queue other answers
/// (500, 429 with Retry-After, 400) and read back every request it received. Call-control commands
/// (`POST /v2/calls/{call_control_id}/actions/{action}`) are recorded with their body; an action can
/// be made to fail with 503.
public final class FakeTelnyx: Sendable {
    public struct Received: Sendable {
        public let authorization: String?
        public let body: JSONValue
        public let at: Date
    }

    public struct Answer: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: JSONValue?
        public init(status: Int, headers: [(String, String)] = [], body: JSONValue? = nil) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    /// A call-control command as received.
    public struct Command: Sendable {
        public let callControlID: String
        public let action: String
        public let body: JSONValue
        public let at: Date
        public var commandID: String? { body["command_id"]?.stringValue }
    }

    public let apiKey: String
    private struct State {
        var commands: [Command] = []
        var failingActions: [String: Int] = [:]
        var received: [Received] = []
        var answers: [Answer] = []
        var delay: Duration = .zero
        var owned: Set<String> = []
        var numberLookups = 0
    }
    private let state = Mutex(State())
    private let server = LocalServer()
    public var port: Int { server.port }

    public init(apiKey: String = "KEY_test_0123456789") { self.apiKey = apiKey }

    public var baseURL: String { "http://127.0.0.1:\(port)/v2" }
    public var received: [Received] { state.withLock { $0.received } }
    /// The next answers, used once each in order; after them every request succeeds.
    public func enqueue(_ answers: Answer...) { state.withLock { $0.answers += answers } }
    public func setDelay(_ delay: Duration) { state.withLock { $0.delay = delay } }
    /// Numbers this account owns, as `GET /v2/phone_numbers` lists them.
    public func own(_ numbers: String...) { state.withLock { $0.owned.formUnion(numbers) } }
    public var commands: [Command] { state.withLock { $0.commands } }
    /// The commands for one call, in the order received.
    public func commands(for callControlID: String) -> [Command] { commands.filter { $0.callControlID == callControlID } }
    /// The next `times` commands of `action` answer 503 (`Int.max`: every one).
    public func failAction(_ action: String, times: Int = .max) { state.withLock { $0.failingActions[action] = times } }
    /// How many times `GET /v2/phone_numbers` was asked.
    public var numberLookups: Int { state.withLock { $0.numberLookups } }

    public func start() async throws {
        let router = Router()
        router.post("/v2/messages") { [self] request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let body = (try? JSONValue.decode(bytes.readableBytesView)) ?? .null
            let (answer, delay) = state.withLock { state -> (Answer?, Duration) in
                state.received.append(Received(authorization: request.headers[.authorization], body: body, at: Date()))
                return (state.answers.isEmpty ? nil : state.answers.removeFirst(), state.delay)
            }
            if delay > .zero { try await Task.sleep(for: delay) }
            if let answer { return Self.response(answer) }
            guard request.headers[.authorization] == "Bearer \(apiKey)" else {
                return Self.response(Answer(status: 401, body: ["errors": [["code": "10009", "title": "Authentication failed"]]]))
            }
            guard let to = body["to"]?.stringValue, to.hasPrefix("+"), body["text"]?.stringValue?.isEmpty == false,
                request.headers[.contentType]?.hasPrefix("application/json") == true
            else {
                return Self.response(Answer(status: 422, body: ["errors": [["code": "10002", "title": "Invalid parameter"]]]))
            }
            let id = UUID().uuidString.lowercased()
            return Self.response(
                Answer(
                    status: 200,
                    body: [
                        "data": [
                            "record_type": "message", "id": .string(id), "direction": "outbound", "type": "SMS",
                            "from": ["phone_number": body["from"] ?? .null], "text": body["text"] ?? .null,
                            "to": [["phone_number": .string(to), "status": "queued"]],
                        ]
                    ]))
        }
        router.post("/v2/calls/:id/actions/:action") { [self] request, context -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let body = (try? JSONValue.decode(bytes.readableBytesView)) ?? .null
            let id = context.parameters.get("id").flatMap { $0.removingPercentEncoding } ?? ""
            let action = context.parameters.get("action") ?? ""
            guard request.headers[.authorization] == "Bearer \(apiKey)" else {
                return Self.response(Answer(status: 401, body: ["errors": [["code": "10009", "title": "Authentication failed"]]]))
            }
            let fails = state.withLock { state -> Bool in
                state.commands.append(Command(callControlID: id, action: action, body: body, at: Date()))
                guard let left = state.failingActions[action], left > 0 else { return false }
                state.failingActions[action] = left == .max ? left : left - 1
                return true
            }
            if fails {
                return Self.response(Answer(status: 503, body: ["errors": [["code": "10007", "title": "Unexpected error"]]]))
            }
            return Self.response(Answer(status: 200, body: ["data": ["result": "ok"]]))
        }
        // Telnyx's number list: `filter[phone_number]` matches on digits; answers `{data: [...], meta: {...}}`.
        router.get("/v2/phone_numbers") { [self] request, _ -> Response in
            guard request.headers[.authorization] == "Bearer \(apiKey)" else {
                return Self.response(Answer(status: 401, body: ["errors": [["code": "10009", "title": "Authentication failed"]]]))
            }
            let digits = request.uri.queryParameters["filter[phone_number]"].map(String.init) ?? ""
            let owned = state.withLock { state in
                state.numberLookups += 1
                return state.owned
            }.filter { digits.isEmpty || $0.filter(\.isNumber).contains(digits) }
            let data = owned.sorted().map { number -> JSONValue in
                ["record_type": "phone_number", "id": .string(UUID().uuidString), "phone_number": .string(number), "status": "active"]
            }
            return Self.response(
                Answer(
                    status: 200,
                    body: [
                        "data": .array(data),
                        "meta": ["total_results": JSONValue(data.count), "page_number": 1, "page_size": 250, "total_pages": 1],
                    ]))
        }
        await server.start(router)
    }

    public func stop() { server.stop() }

    static func response(_ answer: Answer) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        for (name, value) in answer.headers { headers[.init(name)!] = value }
        return Response(
            status: .init(code: answer.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: (answer.body ?? [:]).encoded())))
    }
}
