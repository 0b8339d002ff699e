import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A local server that speaks the part of Retell's API voice-agent uses, as documented: Bearer key;
/// `POST /create-retell-llm` -> `{llm_id, ...}`; `POST /create-agent` with `response_engine:
/// {type: "retell-llm", llm_id}` and `voice_id` -> `{agent_id, ...}`; `PATCH /update-retell-llm/{id}`
/// and `PATCH /update-agent/{id}` (404 for unknown ids); `POST /v2/register-phone-call` with
/// `agent_id`, `from_number`, `to_number`, `direction`, `metadata` -> `{call_id, ...}`. It can be
/// made to fail (500) and tells every request it received.
public final class FakeRetell: Sendable {
    public struct Received: Sendable {
        public let method: String
        public let path: String
        public let body: JSONValue
        public let at: Date
    }

    public let apiKey: String
    private struct State {
        var received: [Received] = []
        var llms: Set<String> = []
        var agents: Set<String> = []
        var failing = false
        var counter = 0
    }
    private let state = Mutex(State())
    private let server = LocalServer()
    public init(apiKey: String = "key_retell_test_0123456789") { self.apiKey = apiKey }

    public var port: Int { server.port }
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var received: [Received] { state.withLock { $0.received } }
    public func received(_ path: String) -> [Received] { received.filter { $0.path == path } }
    /// The ids of the agents created so far.
    public var agentIDs: Set<String> { state.withLock { $0.agents } }
    /// While true every request answers 500.
    public func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    public func start() async throws {
        let router = Router()
        router.post("/create-retell-llm") { [self] request, _ in
            try await handle(request, "/create-retell-llm") { body, state in
                let id = "llm_\(state.counter)"
                state.llms.insert(id)
                return (201, ["llm_id": .string(id), "general_prompt": body["general_prompt"] ?? .null, "version": 0])
            }
        }
        router.post("/create-agent") { [self] request, _ in
            try await handle(request, "/create-agent") { body, state in
                guard let llm = body["response_engine"]?["llm_id"]?.stringValue, state.llms.contains(llm),
                    body["response_engine"]?["type"] == "retell-llm", body["voice_id"]?.stringValue != nil
                else { return (400, ["error_message": "response_engine and voice_id are required"]) }
                let id = "agent_\(state.counter)"
                state.agents.insert(id)
                return (201, ["agent_id": .string(id), "agent_name": body["agent_name"] ?? .null, "voice_id": body["voice_id"] ?? .null])
            }
        }
        router.patch("/update-retell-llm/:id") { [self] request, context in
            let id = context.parameters.get("id") ?? ""
            return try await handle(request, "/update-retell-llm") { _, state in
                state.llms.contains(id) ? (200, ["llm_id": .string(id)]) : (404, ["error_message": "Not Found"])
            }
        }
        router.patch("/update-agent/:id") { [self] request, context in
            let id = context.parameters.get("id") ?? ""
            return try await handle(request, "/update-agent") { _, state in
                state.agents.contains(id) ? (200, ["agent_id": .string(id)]) : (404, ["error_message": "Not Found"])
            }
        }
        router.post("/v2/register-phone-call") { [self] request, _ in
            try await handle(request, "/v2/register-phone-call") { body, state in
                guard let agent = body["agent_id"]?.stringValue, state.agents.contains(agent) else {
                    return (404, ["error_message": "agent not found"])
                }
                let id = "call_" + String(format: "%032x", state.counter)
                return (
                    201,
                    [
                        "call_id": .string(id), "agent_id": .string(agent), "call_status": "registered", "call_type": "phone_call",
                        "from_number": body["from_number"] ?? .null, "to_number": body["to_number"] ?? .null,
                        "direction": body["direction"] ?? .null, "metadata": body["metadata"] ?? .null,
                    ]
                )
            }
        }
        await server.start(router)
    }

    public func stop() { server.stop() }

    private func handle(
        _ request: Request, _ path: String, _ answer: @Sendable (JSONValue, inout State) -> (Int, JSONValue)
    ) async throws -> Response {
        let bytes = try await request.body.collect(upTo: 1 << 20)
        let body = (try? JSONValue.decode(bytes.readableBytesView)) ?? .null
        let (status, json) = state.withLock { state -> (Int, JSONValue) in
            state.received.append(Received(method: request.method.rawValue, path: path, body: body, at: Date()))
            state.counter += 1
            if state.failing { return (500, ["error_message": "Internal Server Error"]) }
            guard request.headers[.authorization] == "Bearer \(apiKey)" else { return (401, ["error_message": "Unauthorized"]) }
            return answer(body, &state)
        }
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: json.encoded())))
    }
}
