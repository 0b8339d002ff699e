import CloudGreetCore
import Crypto
import Curl
import Foundation

/// Where Retell AI is, the key its API calls and webhook signatures use, and where Retell should
/// send call events (voice-agent).
public struct RetellSettings: Sendable {
    public var apiKey: String
    public var baseURL: String
    /// The public address of our `/api/retell/webhook`, set on every agent we create; without it
    /// Retell uses the account's webhook.
    public var webhookURL: String?
    public var timeout: Duration

    public init(apiKey: String, baseURL: String = "https://api.retellai.com", webhookURL: String? = nil, timeout: Duration = .seconds(15)) {
        self.apiKey = apiKey
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.webhookURL = webhookURL
        self.timeout = timeout
    }

    public static let variables = ["RETELL_API_KEY", "RETELL_API_BASE", "RETELL_WEBHOOK_URL"]

    /// The settings when `RETELL_API_KEY` is set, else nil; a bad value stops the service.
    public static func fromConfig(_ config: ServiceConfig) throws -> RetellSettings? {
        let base = try config.url("RETELL_API_BASE", default: "https://api.retellai.com")
        let webhook = try config.string("RETELL_WEBHOOK_URL").map { _ in try config.url("RETELL_WEBHOOK_URL", default: "") }
        return config.string("RETELL_API_KEY").map { RetellSettings(apiKey: $0, baseURL: base, webhookURL: webhook) }
    }
}

/// Retell's API through the libcurl wrapper: an agent is a Retell LLM (the prompt) plus an agent
/// (voice, name, webhook) that uses it; an inbound call from our own telephony is registered to
/// get the call id that Telnyx then transfers to (`sip:{call_id}@sip.retellai.com`).
public struct RetellClient: Sendable {
    /// What Retell needs to know about one of our agents.
    public struct AgentSpec: Sendable, Equatable {
        public var name: String
        public var voiceID: String
        public var voiceSpeed: Double?
        public var prompt: String
        public var greeting: String?

        public init(name: String, voiceID: String, voiceSpeed: Double?, prompt: String, greeting: String?) {
            self.name = name
            self.voiceID = voiceID
            self.voiceSpeed = voiceSpeed
            self.prompt = prompt
            self.greeting = greeting
        }
    }

    /// Retell's ids for one of our agents.
    public struct AgentIDs: Sendable, Equatable {
        public var agentID: String
        public var llmID: String

        public init(agentID: String, llmID: String) {
            self.agentID = agentID
            self.llmID = llmID
        }
    }

    public let settings: RetellSettings
    private let curl: CurlClient
    private let retry: RetryPolicy

    public init(settings: RetellSettings, curl: CurlClient = .shared, retry: RetryPolicy = RetryPolicy()) {
        self.settings = settings
        self.curl = curl
        self.retry = retry
    }

    /// Updates the agent Retell already has for us, or creates it (also when Retell no longer
    /// knows the ids we kept).
    public func upsertAgent(_ spec: AgentSpec, existing: AgentIDs?) async throws -> AgentIDs {
        var llm: [String: JSONValue] = ["general_prompt": .string(spec.prompt)]
        if let greeting = spec.greeting { llm["begin_message"] = .string(greeting) }
        var agent: [String: JSONValue] = ["agent_name": .string(spec.name), "voice_id": .string(spec.voiceID)]
        if let speed = spec.voiceSpeed { agent["voice_speed"] = .number(speed) }
        if let webhook = settings.webhookURL { agent["webhook_url"] = .string(webhook) }
        if let existing {
            let llmUpdate = try await send("PATCH", "/update-retell-llm/" + FormQuery.percentEncoded(existing.llmID), .object(llm))
            if llmUpdate.status != 404 {
                try Self.check(llmUpdate, "update-retell-llm")
                let agentUpdate = try await send("PATCH", "/update-agent/" + FormQuery.percentEncoded(existing.agentID), .object(agent))
                if agentUpdate.status != 404 {
                    try Self.check(agentUpdate, "update-agent")
                    return existing
                }
            }
        }
        let createdLLM = try await send("POST", "/create-retell-llm", .object(llm))
        guard let llmID = try Self.check(createdLLM, "create-retell-llm")["llm_id"]?.stringValue else {
            throw ProviderError("Retell's create-retell-llm answer has no llm_id")
        }
        agent["response_engine"] = ["type": "retell-llm", "llm_id": .string(llmID)]
        let createdAgent = try await send("POST", "/create-agent", .object(agent))
        guard let agentID = try Self.check(createdAgent, "create-agent")["agent_id"]?.stringValue else {
            throw ProviderError("Retell's create-agent answer has no agent_id")
        }
        return AgentIDs(agentID: agentID, llmID: llmID)
    }

    /// Registers an inbound call from our telephony with the agent; returns Retell's call id.
    public func registerPhoneCall(agentID: String, from: String, to: String, metadata: JSONValue) async throws -> String {
        let answer = try await send(
            "POST", "/v2/register-phone-call",
            [
                "agent_id": .string(agentID), "from_number": .string(from), "to_number": .string(to), "direction": "inbound",
                "metadata": metadata,
            ])
        guard let callID = try Self.check(answer, "register-phone-call")["call_id"]?.stringValue, !callID.isEmpty else {
            throw ProviderError("Retell's register-phone-call answer has no call_id")
        }
        return callID
    }

    /// Where Telnyx sends a call registered with Retell.
    public static func sipAddress(callID: String) -> String { "sip:\(callID)@sip.retellai.com" }

    private func send(_ method: String, _ path: String, _ body: JSONValue) async throws -> CurlResponse {
        let payload = Array(body.encoded())
        return try await retry.run {
            try await curl.perform(
                CurlRequest(
                    method: method, url: settings.baseURL + path,
                    headers: [
                        ("Authorization", "Bearer \(settings.apiKey)"), ("Content-Type", "application/json"), ("Accept", "application/json"),
                    ],
                    body: payload, connectTimeout: .seconds(5), timeout: settings.timeout))
        }
    }

    /// The JSON of a 2xx answer; anything else is a `ProviderError` naming the call and Retell's message.
    @discardableResult
    private static func check(_ response: CurlResponse, _ call: String) throws -> JSONValue {
        let json = try? JSONValue.decode(response.body)
        guard (200..<300).contains(response.status), let json, case .object = json else {
            let detail = json?["error_message"]?.stringValue ?? json?["message"]?.stringValue ?? "no detail"
            throw ProviderError("Retell answered \(response.status) to \(call): \(detail.prefix(200))")
        }
        return json
    }
}

/// Retell signs webhooks with `x-retell-signature: v=<unix ms>,d=<hex HMAC-SHA256>` where the HMAC
/// key is the API key and the message is the raw body followed by the timestamp. A timestamp more
/// than five minutes away is refused (replays); digests are compared in constant time.
public struct RetellSignatureVerifier: WebhookVerifier {
    public enum Failure: Error, Equatable { case missing, malformed, stale, mismatch }

    // Kept as bytes: `SymmetricKey` is not `Sendable`.
    private let secret: [UInt8]
    public let tolerance: TimeInterval
    private var key: SymmetricKey { SymmetricKey(data: secret) }

    public init(apiKey: String, tolerance: TimeInterval = 300) {
        secret = Array(apiKey.utf8)
        self.tolerance = tolerance
    }

    /// Reads `x-retell-signature` through `header`.
    public func verify(headers header: (String) -> String?, body: [UInt8]) throws(Failure) {
        try verify(signature: header("x-retell-signature"), body: body)
    }

    public func verify(signature: String?, body: [UInt8], now: Date = Date()) throws(Failure) {
        guard let signature else { throw .missing }
        var timestamp: String?
        var digest: String?
        for part in signature.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            switch pair[0].trimmingCharacters(in: .whitespaces) {
            case "v": timestamp = String(pair[1])
            case "d": digest = String(pair[1]).lowercased()
            default: continue
            }
        }
        guard let timestamp, let milliseconds = Double(timestamp), let digest, let expected = Self.bytes(hex: digest) else {
            throw .malformed
        }
        guard abs(now.timeIntervalSince1970 - milliseconds / 1000) <= tolerance else { throw .stale }
        var message = Data(body)
        message.append(contentsOf: Array(timestamp.utf8))
        guard HMAC<SHA256>.isValidAuthenticationCode(expected, authenticating: message, using: key) else { throw .mismatch }
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 48...57: digit - 48
        case 97...102: digit - 87
        default: nil
        }
    }
}
