import CloudGreetCore
import Crypto
import Foundation

/// Telnyx signs webhooks with Ed25519: `telnyx-signature-ed25519` is the base64 signature of
/// `"<telnyx-timestamp>|<raw body>"`, checked with the account's public key (base64 of the raw
/// 32 bytes). A timestamp more than `tolerance` seconds away from now is refused (replays).
public struct TelnyxSignatureVerifier: WebhookVerifier {
    public enum Failure: Error, Equatable { case missing, malformed, stale, mismatch }

    private let publicKey: Data
    public let tolerance: TimeInterval

    public init?(base64PublicKey: String, tolerance: TimeInterval = 300) {
        guard let raw = Data(base64Encoded: base64PublicKey), raw.count == 32,
            (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
        else { return nil }
        publicKey = raw
        self.tolerance = tolerance
    }

    /// The verifier for `TELNYX_PUBLIC_KEY`, or nil when it is not set; a malformed key stops the service.
    public static func fromConfig(_ config: ServiceConfig) throws -> TelnyxSignatureVerifier? {
        try config.string("TELNYX_PUBLIC_KEY").map { key in
            guard let verifier = TelnyxSignatureVerifier(base64PublicKey: key) else {
                throw ConfigError(variable: "TELNYX_PUBLIC_KEY", "must be the base64 of a 32-byte Ed25519 public key")
            }
            return verifier
        }
    }

    /// Reads `telnyx-signature-ed25519` and `telnyx-timestamp` through `header`.
    public func verify(headers header: (String) -> String?, body: [UInt8]) throws(Failure) {
        try verify(signature: header("telnyx-signature-ed25519"), timestamp: header("telnyx-timestamp"), body: body)
    }

    public func verify(signature: String?, timestamp: String?, body: [UInt8], now: Date = Date()) throws(Failure) {
        guard let signature, let timestamp else { throw .missing }
        guard let seconds = Double(timestamp), let signatureBytes = Data(base64Encoded: signature),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
        else { throw .malformed }
        guard abs(now.timeIntervalSince1970 - seconds) <= tolerance else { throw .stale }
        var message = Data("\(timestamp)|".utf8)
        message.append(contentsOf: body)
        guard key.isValidSignature(signatureBytes, for: message) else { throw .mismatch }
    }
}
