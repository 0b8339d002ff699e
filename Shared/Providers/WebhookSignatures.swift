import CloudGreetCore
import Crypto
import Foundation

/// Telnyx signs webhooks with Ed25519: `telnyx-signature-ed25519` is the base64 signature of
/// `"<telnyx-timestamp>|<raw body>"`, checked with the account's public key (base64 of the raw
/// 32 bytes). A timestamp more than `tolerance` seconds away from now is refused (replays).
public struct TelnyxSignatureVerifier: Sendable {
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
