/// A provider's webhook signature scheme (Telnyx's Ed25519, Retell's HMAC): checks the signature
/// headers, read through `header`, against the raw body, and throws when they do not match.
public protocol WebhookVerifier: Sendable {
    func verify(headers header: (String) -> String?, body: [UInt8]) throws
}
