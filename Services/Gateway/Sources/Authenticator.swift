import CloudGreetCore
import Foundation
import ServiceClients

/// Turns the credentials of a request into a `Caller`: an HS256 JWT signed with `JWT_SECRET` for
/// `cloudgreet-api`, or an API key (`Authorization: Bearer cg_...` or `X-API-Key`) that identity
/// vouches for. Identity's answers (keys, and which of a user's tokens still count after a reset
/// or a logout) are cached for `API_KEY_CACHE_SECONDS` (30 s), inside the contract's 60 s.
struct Authenticator: Sendable {
    enum Outcome: Sendable, Equatable {
        case none
        case valid(Caller)
        case invalid
    }

    enum Credential: Sendable, Equatable {
        case none
        case malformed
        case jwt(String)
        case apiKey(String)
    }

    /// Guards the calls to identity that keys not in the cache cost: asked only while there is
    /// room, and each refusal spends some.
    struct LookupBudget: Sendable {
        var hasRoom: @Sendable () async -> Bool
        var spend: @Sendable () async -> Void

        static let unlimited = LookupBudget(hasRoom: { true }, spend: {})
    }

    enum KeyAnswer: Sendable {
        case owner(Caller)
        case refused
    }

    let tokens: TokenSigner
    let identity: IdentityClient
    /// By key hash; refusals are kept too, so guessing keys does not become a stream of calls to identity.
    let keys: TTLCache<String, KeyAnswer>
    /// By user id.
    let sessions: TTLCache<String, IdentityClient.TokenState>
    /// The claims of tokens whose signature was checked, by token: a client sends the same token
    /// with every request, and checking it again cost more than the rest of the authentication.
    /// Expiry and revocation are still checked on every use.
    let verified: TTLCache<String, [String: JSONValue]>

    init(tokens: TokenSigner, identity: IdentityClient, cacheSeconds: TimeInterval = 30, capacity: Int = 10_000) {
        self.tokens = tokens
        self.identity = identity
        keys = TTLCache(ttl: cacheSeconds, capacity: capacity)
        sessions = TTLCache(ttl: cacheSeconds, capacity: capacity)
        verified = TTLCache(ttl: cacheSeconds, capacity: capacity)
    }

    static func credential(authorization: String?, apiKey: String?) -> Credential {
        var credential = apiKey.map(trimmingBlanks)
        if credential == nil, let authorization {
            let parts = authorization.utf8.split(separator: UInt8(ascii: " "), maxSplits: 1)
            guard parts.count == 2, String(decoding: parts[0], as: UTF8.self).lowercased() == "bearer" else { return .malformed }
            credential = trimmingBlanks(String(decoding: parts[1], as: UTF8.self))
        }
        guard let credential, !credential.isEmpty else { return .none }
        return credential.hasPrefix("cg_") ? .apiKey(credential) : .jwt(credential)
    }

    /// Without the spaces and tabs HTTP allows around a header's value. Foundation's trimming would
    /// return a bridged string whose every later use (splitting, hashing) is several times slower.
    private static func trimmingBlanks(_ text: String) -> String {
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let bytes = text.utf8
        guard let first = bytes.firstIndex(where: { !isBlank($0) }), let last = bytes.lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    func authenticate(_ credential: Credential, requestID: String, budget: LookupBudget = .unlimited) async throws -> Outcome {
        switch credential {
        case .none: return .none
        case .malformed: return .invalid
        case .jwt(let token): return try await userCaller(token, requestID: requestID)
        case .apiKey(let key): return try await keyCaller(key, requestID: requestID, budget: budget)
        }
    }

    func authenticate(authorization: String?, apiKey: String?, requestID: String) async throws -> Outcome {
        try await authenticate(Self.credential(authorization: authorization, apiKey: apiKey), requestID: requestID)
    }

    private func userCaller(_ token: String, requestID: String) async throws -> Outcome {
        guard let claims = await verifiedClaims(token),
            claims["iss"]?.stringValue == UserToken.issuer, claims["aud"]?.stringValue == UserToken.audience,
            let subject = claims["sub"]?.stringValue, let business = claims["business_id"]?.stringValue,
            let role = claims["role"]?.stringValue.flatMap(Role.init(rawValue:))
        else { return .invalid }
        let tokenID = claims["jti"]?.stringValue
        let state: IdentityClient.TokenState
        if let cached = await sessions.value(subject) {
            state = cached
        } else {
            guard let fetched = try await identity.tokenState(subject, requestID) else { return .invalid }
            await sessions.store(subject, fetched)
            state = fetched
        }
        guard (claims["ver"]?.intValue ?? 0) >= state.version, !(tokenID.map(state.revoked.contains) ?? false) else {
            return .invalid
        }
        return .valid(
            Caller(
                kind: .user, subject: subject, businessID: business, role: role, tokenID: tokenID,
                tokenExpires: claims["exp"]?.intValue))
    }

    private func verifiedClaims(_ token: String) async -> [String: JSONValue]? {
        let now = Date()
        if let claims = await verified.value(token, now: now) {
            return (claims["exp"]?.doubleValue ?? 0) > now.timeIntervalSince1970 ? claims : nil
        }
        guard token.utf8.count <= 4096, let claims = try? tokens.verify(token, now: now) else { return nil }
        await verified.store(token, claims, now: now)
        return claims
    }

    private func keyCaller(_ key: String, requestID: String, budget: LookupBudget) async throws -> Outcome {
        guard key.utf8.count <= 200 else { return .invalid }
        let hash = Secrets.sha256Hex(key)
        switch await keys.value(hash) {
        case .owner(let caller)?: return .valid(caller)
        case .refused?: return .invalid
        case nil: break
        }
        guard await budget.hasRoom() else { return .invalid }
        guard let caller = try await identity.verifyAPIKey(key, requestID) else {
            await keys.store(hash, .refused)
            await budget.spend()
            return .invalid
        }
        await keys.store(hash, .owner(caller))
        return .valid(caller)
    }
}
