import Crypto
import Foundation

/// HS256 JSON Web Tokens. Only `{"alg":"HS256"}` is accepted: `none` and every other algorithm are
/// refused before the signature is looked at, and `exp` is required. The same signer makes user
/// tokens (with `JWT_SECRET`) and the internal credentials between services (with `INTERNAL_SECRET`).
public struct TokenSigner: Sendable {
    private let secret: Data
    private var key: SymmetricKey { SymmetricKey(data: secret) }

    public init(secret: String) {
        self.secret = Data(secret.utf8)
    }

    public func sign(_ claims: [String: JSONValue]) -> String {
        let header = Base64URL.encode(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = Base64URL.encode(JSONValue.object(claims).encoded())
        let signingInput = header + "." + payload
        let signature = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
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
        // HMAC's isValidAuthenticationCode compares in constant time.
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key) else {
            throw .signature
        }
        guard let payloadData = Base64URL.decode(parts[1]), let payload = try? JSONValue.decode(payloadData),
            let claims = payload.objectValue
        else { throw .malformed }
        guard let exp = claims["exp"]?.doubleValue, exp > now.timeIntervalSince1970 else { throw .expired }
        return claims
    }
}
