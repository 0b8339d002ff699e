import CloudGreetCore
import Curl
import Foundation

/// Telnyx's messaging API (`POST {TELNYX_API_BASE}/messages`, Bearer key, JSON) through the libcurl
/// wrapper. 429, 5xx and time-outs are retried with exponential backoff and jitter, honouring
/// `Retry-After`; other 4xx answers are final.
public struct TelnyxClient: Sendable {
    public struct Settings: Sendable {
        public var apiKey: String
        public var baseURL: String
        public var messagingProfileID: String?
        /// How long one attempt may take, connection included.
        public var timeout: Duration

        public init(apiKey: String, baseURL: String = "https://api.telnyx.com/v2", messagingProfileID: String? = nil,
                    timeout: Duration = .seconds(15))
        {
            self.apiKey = apiKey
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.messagingProfileID = messagingProfileID
            self.timeout = timeout
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
            try await curl.perform(CurlRequest(
                method: "POST", url: settings.baseURL + "/messages",
                headers: [("Authorization", "Bearer \(settings.apiKey)"), ("Content-Type", "application/json"),
                          ("Accept", "application/json")],
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
            try await curl.perform(CurlRequest(
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

    /// The client for `TELNYX_API_KEY` and friends, or nil when no key is configured.
    public static func fromConfig(_ config: ServiceConfig) -> TelnyxClient? {
        config.string("TELNYX_API_KEY").map {
            TelnyxClient(settings: .init(apiKey: $0, baseURL: config.string("TELNYX_API_BASE", default: "https://api.telnyx.com/v2"),
                                         messagingProfileID: config.string("TELNYX_MESSAGING_PROFILE_ID"),
                                         timeout: .milliseconds(Int(config.double("TELNYX_TIMEOUT_SECONDS", default: 15) * 1000))))
        }
    }

    /// Telnyx's `errors[0]` as `code title: detail`, without echoing anything else back.
    static func errorDetail(_ json: JSONValue?) -> String {
        guard let error = json?["errors"]?.arrayValue?.first else { return "no error detail" }
        return [error["code"]?.stringValue, error["title"]?.stringValue, error["detail"]?.stringValue]
            .compactMap { $0 }.joined(separator: " ")
    }
}

/// Retries a provider call on 429, 5xx, time-outs and refused connections: `attempts` tries at
/// most, exponential backoff from `baseDelay` with full jitter, or the provider's `Retry-After`
/// (capped at `maxDelay`). The last answer or error is returned as is.
public struct RetryPolicy: Sendable {
    public var attempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(attempts: Int = 3, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10)) {
        self.attempts = attempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    public func run(_ call: @Sendable () async throws -> CurlResponse) async throws -> CurlResponse {
        var attempt = 0
        while true {
            attempt += 1
            let delay: Duration
            do {
                let response = try await call()
                guard response.status == 429 || response.status >= 500, attempt < attempts else { return response }
                delay = retryAfter(response) ?? backoff(attempt)
            } catch let error as CurlError {
                switch error {
                case .timedOut, .couldNotConnect, .transfer:
                    guard attempt < attempts else { throw ProviderError("provider unreachable: \(error)") }
                    delay = backoff(attempt)
                case .cancelled, .tlsRequired:
                    throw error
                }
            }
            try await Task.sleep(for: delay)
        }
    }

    func backoff(_ attempt: Int) -> Duration {
        let ceiling = min(baseDelay * (1 << (attempt - 1)), maxDelay)
        return ceiling * Double.random(in: 0.5...1.0)
    }

    /// `Retry-After` in seconds (the form Telnyx and Retell use), capped at `maxDelay`.
    func retryAfter(_ response: CurlResponse) -> Duration? {
        guard let value = response.header("Retry-After"), let seconds = Double(value.trimmingCharacters(in: .whitespaces)),
              seconds.isFinite, seconds >= 0
        else { return nil }
        // Clamped before converting: a provider's `1e20` must not overflow into a crash.
        let capped = min(seconds, Double(maxDelay.components.seconds) + 1)
        return min(.milliseconds(Int(capped * 1000)), maxDelay)
    }
}
