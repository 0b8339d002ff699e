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
        let secret: [UInt8]
        var symmetric: SymmetricKey { SymmetricKey(data: secret) }
        /// The encoded header tokens signed with this key carry: the same for every token.
        let header: [UInt8]

        init(_ secret: String) {
            self.secret = Array(secret.utf8)
            id = String(Secrets.sha256Hex("cloudgreet-kid:" + secret).prefix(16))
            header = Array(Base64URL.encode(JSONValue.object(["alg": "HS256", "typ": "JWT", "kid": .string(id)]).encoded()).utf8)
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
        var token = current.header
        token.append(UInt8(ascii: "."))
        Base64URL.encode(JSONBytes.write(.object(claims)), into: &token)
        let signature = HMAC<SHA256>.authenticationCode(for: token, using: current.symmetric)
        token.append(UInt8(ascii: "."))
        Base64URL.encode(Array(signature), into: &token)
        return String(decoding: token, as: UTF8.self)
    }

    public enum Failure: Error, Equatable { case malformed, algorithm, signature, expired }

    /// Returns the claims of a well-signed, unexpired token. Works on the token's bytes: tokens are
    /// read on every request, and Character-level string work here cost more than the HMAC.
    public func verify(_ token: String, now: Date = Date()) throws(Failure) -> [String: JSONValue] {
        let bytes = Array(token.utf8)
        let dot = UInt8(ascii: ".")
        guard let first = bytes.firstIndex(of: dot), let second = bytes[(first + 1)...].firstIndex(of: dot),
            !bytes[(second + 1)...].contains(dot), let headerData = Base64URL.decode(bytes: bytes[..<first]),
            let header = try? JSONValue.decode(headerData)
        else { throw .malformed }
        guard header["alg"]?.stringValue == "HS256" else { throw .algorithm }
        guard let signature = Base64URL.decode(bytes: bytes[(second + 1)...]) else { throw .signature }
        let signingInput = bytes[..<second]
        // The key the token names; a token without `kid` (signed before key ids) is tried with each.
        let named = header["kid"]?.stringValue
        let keys = [current, previous].compactMap { $0 }.filter { key in named.map { $0 == key.id } ?? true }
        // HMAC's isValidAuthenticationCode compares in constant time.
        guard keys.contains(where: { HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: $0.symmetric) })
        else { throw .signature }
        guard let payloadData = Base64URL.decode(bytes: bytes[(first + 1)..<second]), let payload = try? JSONValue.decode(payloadData),
            let claims = payload.objectValue
        else { throw .malformed }
        guard let exp = claims["exp"]?.doubleValue, exp > now.timeIntervalSince1970 else { throw .expired }
        return claims
    }
}
