import Crypto
import Foundation

/// HS256 JSON Web Tokens. Only `{"alg":"HS256"}` is accepted: `none` and every other algorithm are
/// refused before the signature is looked at, and `exp` is required. The same signer makes user
/// tokens (with `JWT_SECRET`) and the internal credentials between services (with `INTERNAL_SECRET`).
/// Tokens name their key (`kid`, a hash of the secret, never the secret): after a rotation the
/// previous secret still verifies the tokens it signed, and only the current one signs.
public struct TokenSigner: Sendable {
    private struct Key: Sendable {
        let id: String
        let secret: Data
        var symmetric: SymmetricKey { SymmetricKey(data: secret) }

        init(_ secret: String) {
            self.secret = Data(secret.utf8)
            id = String(Secrets.sha256Hex("cloudgreet-kid:" + secret).prefix(16))
        }
    }

    private let current: Key
    private let previous: Key?

    public init(secret: String, previous: String? = nil) {
        current = Key(secret)
        self.previous = previous.map(Key.init)
    }

    /// The key id tokens signed now carry.
    public var keyID: String { current.id }

    public func sign(_ claims: [String: JSONValue]) -> String {
        let header = Base64URL.encode(JSONValue.object(["alg": "HS256", "typ": "JWT", "kid": .string(current.id)]).encoded())
        let payload = Base64URL.encode(JSONValue.object(claims).encoded())
        let signingInput = header + "." + payload
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: current.symmetric)
        return signingInput + "." + Base64URL.encode(Data(signature))
    }

    public enum Failure: Error, Equatable { case malformed, algorithm, signature, expired }

    /// Returns the claims of a well-signed, unexpired token.
    public func verify(_ token: String, now: Date = Date()) throws(Failure) -> [String: JSONValue] {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Base64URL.decode(parts[0]),
            let header = try? JSONValue.decode(headerData)
        else { throw .malformed }
        guard header["alg"]?.stringValue == "HS256" else { throw .algorithm }
        guard let signature = Base64URL.decode(parts[2]) else { throw .signature }
        let signingInput = Data("\(parts[0]).\(parts[1])".utf8)
        // The key the token names; a token without `kid` (signed before key ids) is tried with each.
        let keys = [current, previous].compactMap { $0 }.filter { key in header["kid"]?.stringValue.map { $0 == key.id } ?? true }
        // HMAC's isValidAuthenticationCode compares in constant time.
        guard keys.contains(where: { HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: $0.symmetric) })
        else { throw .signature }
        guard let payloadData = Base64URL.decode(parts[1]), let payload = try? JSONValue.decode(payloadData),
            let claims = payload.objectValue
        else { throw .malformed }
        guard let exp = claims["exp"]?.doubleValue, exp > now.timeIntervalSince1970 else { throw .expired }
        return claims
    }
}
