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

/// How CloudGreet signs the webhooks it sends: `CloudGreet-Signature: t=<unix seconds>,v1=<hex
/// HMAC-SHA256(key: the endpoint's secret, message: "<t>.<raw body>")>`. The SDKs check it the same way.
public enum CloudGreetSignature {
    public static let header = "CloudGreet-Signature"

    public static func sign(_ body: [UInt8], secret: String, at time: Date) -> String {
        let stamp = String(Int(time.timeIntervalSince1970))
        return "t=\(stamp),v1=" + mac(body, secret: secret, stamp: stamp).map { String(format: "%02x", $0) }.joined()
    }

    /// True when `header` signs `body` with `secret` and its time is within `tolerance` of now.
    public static func isValid(_ header: String, body: [UInt8], secret: String, now: Date = Date(), tolerance: TimeInterval = 300) -> Bool {
        var stamp: String?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { stamp = pair[1] } else if pair[0] == "v1" { signatures.append(pair[1]) }
        }
        guard let stamp, let seconds = Double(stamp), abs(now.timeIntervalSince1970 - seconds) <= tolerance else { return false }
        let expected = Array(mac(body, secret: secret, stamp: stamp).map { String(format: "%02x", $0) }.joined().utf8)
        return signatures.contains { Secrets.constantTimeEquals(Array($0.utf8), expected) }
    }

    private static func mac(_ body: [UInt8], secret: String, stamp: String) -> HMAC<SHA256>.MAC {
        HMAC<SHA256>.authenticationCode(for: Array("\(stamp).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))
    }
}
