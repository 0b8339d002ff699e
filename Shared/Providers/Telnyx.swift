import CloudGreetCore
import Curl
import Foundation

/// Telnyx's messaging, number and call-control APIs (`{TELNYX_API_BASE}/messages`, `/phone_numbers`,
/// `/calls/{id}/actions/...`; Bearer key, JSON) through the libcurl wrapper. 429, 5xx and time-outs are retried with exponential backoff and jitter, honouring
/// `Retry-After`; other 4xx answers are final.
public struct TelnyxClient: Sendable {
    public struct Settings: Sendable {
        public var apiKey: String
        public var baseURL: String
        public var messagingProfileID: String?
        /// How long one attempt may take, connection included.
        public var timeout: Duration

        public init(
            apiKey: String, baseURL: String = "https://api.telnyx.com/v2", messagingProfileID: String? = nil,
            timeout: Duration = .seconds(15)
        ) {
            self.apiKey = apiKey
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.messagingProfileID = messagingProfileID
            self.timeout = timeout
        }

        /// Read by messaging, identity and voice-agent alike (`TELNYX_PUBLIC_KEY` is the webhooks').
        public static let variables = ["TELNYX_API_KEY", "TELNYX_API_BASE", "TELNYX_MESSAGING_PROFILE_ID", "TELNYX_TIMEOUT_SECONDS"]

        /// The settings when `TELNYX_API_KEY` is set, else nil; a bad value stops the service.
        public static func fromConfig(_ config: ServiceConfig) throws -> Settings? {
            let base = try config.url("TELNYX_API_BASE", default: "https://api.telnyx.com/v2")
            let seconds = try config.double("TELNYX_TIMEOUT_SECONDS", default: 15, 1...120)
            return config.string("TELNYX_API_KEY").map {
                Settings(
                    apiKey: $0, baseURL: base, messagingProfileID: config.string("TELNYX_MESSAGING_PROFILE_ID"),
                    timeout: .milliseconds(Int(seconds * 1000)))
            }
        }
    }

    public struct SentMessage: Sendable, Equatable {
        public let id: String
        /// Telnyx's status of the recipient (`queued`, `sending`, `sent`, ...).
        public let status: String
    }

    public let settings: Settings
    private let curl: CurlClient
    private let retry: RetryPolicy

    public init(settings: Settings, curl: CurlClient = .shared, retry: RetryPolicy = RetryPolicy()) {
        self.settings = settings
        self.curl = curl
        self.retry = retry
    }

    public func sendMessage(from: String?, to: String, text: String) async throws -> SentMessage {
        var body: [String: JSONValue] = ["to": .string(to), "text": .string(text)]
        if let from { body["from"] = .string(from) }
        if let profile = settings.messagingProfileID { body["messaging_profile_id"] = .string(profile) }
        let payload = Array(JSONValue.object(body).encoded())
        let response = try await retry.run {
            try await curl.perform(
                CurlRequest(
                    method: "POST", url: settings.baseURL + "/messages",
                    headers: [
                        ("Authorization", "Bearer \(settings.apiKey)"), ("Content-Type", "application/json"),
                        ("Accept", "application/json"),
                    ],
                    body: payload, connectTimeout: .seconds(5), timeout: settings.timeout))
        }
        let json = try? JSONValue.decode(response.body)
        guard (200..<300).contains(response.status), let data = json?["data"], let id = data["id"]?.stringValue else {
            throw ProviderError("Telnyx answered \(response.status): \(Self.errorDetail(json))")
        }
        let status = data["to"]?.arrayValue?.first?["status"]?.stringValue ?? "queued"
        return SentMessage(id: id, status: status)
    }

    /// Whether this Telnyx account owns `number` (E.164): `GET /phone_numbers?filter[phone_number]=<digits>`
    /// (Telnyx matches on digits only) and an exact match among the numbers it lists.
    public func ownsNumber(_ number: String) async throws -> Bool {
        let digits = number.filter(\.isNumber)
        let response = try await retry.run {
            try await curl.perform(
                CurlRequest(
                    method: "GET", url: settings.baseURL + "/phone_numbers?filter%5Bphone_number%5D=\(digits)&page%5Bsize%5D=250",
                    headers: [("Authorization", "Bearer \(settings.apiKey)"), ("Accept", "application/json")],
                    body: nil, connectTimeout: .seconds(5), timeout: settings.timeout))
        }
        let json = try? JSONValue.decode(response.body)
        guard (200..<300).contains(response.status), let numbers = json?["data"]?.arrayValue else {
            throw ProviderError("Telnyx answered \(response.status): \(Self.errorDetail(json))")
        }
        return numbers.contains { $0["phone_number"]?.stringValue == number }
    }

    /// A call-control command: `POST /calls/{call_control_id}/actions/{action}` with `command_id`,
    /// which Telnyx uses to ignore a repeat of a command it already took, so retries (here, and
    /// after a restart) never answer or transfer a call twice. Throws `ProviderError` when Telnyx
    /// refuses it or cannot be reached after retries.
    public func callCommand(
        _ action: String, callControlID: String, commandID: String, parameters: [String: JSONValue] = [:]
    )
        async throws
    {
        var body = parameters
        body["command_id"] = .string(commandID)
        let payload = Array(JSONValue.object(body).encoded())
        let url = settings.baseURL + "/calls/" + FormQuery.pathSegment(callControlID) + "/actions/" + action
        let response = try await retry.run {
            try await curl.perform(
                CurlRequest(
                    method: "POST", url: url,
                    headers: [
                        ("Authorization", "Bearer \(settings.apiKey)"), ("Content-Type", "application/json"),
                        ("Accept", "application/json"),
                    ],
                    body: payload, connectTimeout: .seconds(5), timeout: settings.timeout))
        }
        guard (200..<300).contains(response.status) else {
            throw ProviderError("Telnyx answered \(response.status) to \(action): \(Self.errorDetail(try? JSONValue.decode(response.body)))")
        }
    }

    /// The client for `TELNYX_API_KEY` and friends, or nil when no key is configured.
    public static func fromConfig(_ config: ServiceConfig) throws -> TelnyxClient? {
        try Settings.fromConfig(config).map { TelnyxClient(settings: $0) }
    }

    /// Telnyx's `errors[0]` as `code title: detail`, without echoing anything else back.
    static func errorDetail(_ json: JSONValue?) -> String {
        guard let error = json?["errors"]?.arrayValue?.first else { return "no error detail" }
        return [error["code"]?.stringValue, error["title"]?.stringValue, error["detail"]?.stringValue]
            .compactMap { $0 }.joined(separator: " ")
    }
}

extension RetryPolicy {
    /// A provider call through libcurl: 429, 5xx, time-outs, refused connections and broken transfers
    /// are tried again (waiting `Retry-After` when given); other answers are final. A transfer that
    /// never succeeds ends as a `ProviderError`.
    func run(_ call: @Sendable () async throws -> CurlResponse) async throws -> CurlResponse {
        do {
            return try await run(call) { result in
                switch result {
                case .success(let response):
                    response.status == 429 || response.status >= 500 ? .retry(after: retryAfter(response.header("Retry-After"))) : .stop
                case .failure(CurlError.timedOut), .failure(CurlError.couldNotConnect), .failure(CurlError.transfer):
                    .retry(after: nil)
                case .failure:
                    .stop
                }
            }
        } catch let error as CurlError {
            switch error {
            case .timedOut, .couldNotConnect, .transfer: throw ProviderError("provider unreachable: \(error)")
            case .cancelled, .tlsRequired: throw error
            }
        }
    }
}
