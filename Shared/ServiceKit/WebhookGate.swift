import CloudGreetCore
import Hummingbird

/// The door of a provider webhook: reads the raw body (within `MAX_BODY_BYTES`) and lets it in only
/// with a valid signature. Without a configured key, webhooks are let in unsigned in development
/// only; everywhere else they are refused, so a missing key never means "accept anything". Every
/// refusal is counted (`webhook_verification_failures_total{provider}`) and answered 401
/// `AUTH_INVALID_TOKEN` before anything is stored.
public struct WebhookGate: Sendable {
    public let provider: String
    private let verifier: (any WebhookVerifier)?
    private let development: Bool
    private let maxBytes: Int
    private let metrics: ServiceMetrics

    public init(provider: String, verifier: (any WebhookVerifier)?, config: ServiceConfig, metrics: ServiceMetrics) {
        self.provider = provider
        self.verifier = verifier
        development = config.isDevelopment
        maxBytes = config.maxBodyBytes
        self.metrics = metrics
    }

    /// Whether unsigned webhooks are let in (development without a key): worth a warning at start-up.
    public var acceptsUnsigned: Bool { verifier == nil && development }

    /// The verified raw body.
    public func body(of request: Request) async throws -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = Array(try await request.body.collect(upTo: maxBytes).readableBytesView)
        } catch {
            throw APIError.payloadTooLarge
        }
        guard let verifier else {
            if development { return bytes }
            await refused()
            throw APIError(401, .authInvalidToken, "Webhook signature cannot be checked: the \(provider) key is not set")
        }
        do {
            try verifier.verify(headers: { request.header($0) }, body: bytes)
        } catch {
            await refused()
            throw APIError(401, .authInvalidToken, "Webhook signature is missing or invalid")
        }
        return bytes
    }

    private func refused() async {
        metrics.increment("webhook_verification_failures_total", labels: ["provider": provider])
    }
}
