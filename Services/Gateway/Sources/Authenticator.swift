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
    /// What tokens whose signature was checked say, by token: a client sends the same token with
    /// every request, and checking and reading it again cost more than the rest of the
    /// authentication. Expiry and revocation are still checked on every use.
    let verified: TTLCache<String, CheckedToken>

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

    /// The outcome from what is known here, without asking identity; nil when identity must be
    /// asked. The gateway's fast lane takes only requests this answers, on the event loop.
    func knownOutcome(_ credential: Credential, now: Date = Date()) -> Outcome? {
        switch credential {
        case .none: return Outcome.none
        case .malformed: return .invalid
        case .jwt(let token):
            switch userClaims(token, now: now) {
            case .invalid: return .invalid
            case .claims(let claims):
                return sessions.value(claims.subject, now: now).map { claims.outcome(given: $0) }
            }
        case .apiKey(let key):
            guard key.utf8.count <= 200 else { return .invalid }
            switch keys.value(Secrets.sha256Hex(key), now: now) {
            case .owner(let caller)?: return .valid(caller)
            case .refused?: return .invalid
            case nil: return nil
            }
        }
    }

    /// A user token's claims that matter here, once its signature, issuer and audience hold.
    struct UserClaims: Sendable {
        let subject: String
        let caller: Caller
        let version: Int
        /// `exp`, in seconds since 1970.
        let expires: Double

        /// Valid unless a password reset or logout since it was issued says otherwise.
        func outcome(given state: IdentityClient.TokenState) -> Outcome {
            guard version >= state.version, !(caller.tokenID.map(state.revoked.contains) ?? false) else { return .invalid }
            return .valid(caller)
        }
    }

    enum CheckedToken: Sendable {
        case invalid
        case claims(UserClaims)
    }

    /// The token's claims, while it has not expired.
    private func userClaims(_ token: String, now: Date) -> CheckedToken {
        let checked: CheckedToken
        if let known = verified.value(token, now: now) {
            checked = known
        } else {
            guard token.utf8.count <= 4096, let claims = try? tokens.verify(token, now: now) else { return .invalid }
            checked = Self.read(claims)
            verified.store(token, checked, now: now)
        }
        guard case .claims(let claims) = checked, claims.expires > now.timeIntervalSince1970 else { return .invalid }
        return checked
    }

    private static func read(_ claims: [String: JSONValue]) -> CheckedToken {
        guard claims["iss"]?.stringValue == UserToken.issuer, claims["aud"]?.stringValue == UserToken.audience,
            let subject = claims["sub"]?.stringValue, let business = claims["business_id"]?.stringValue,
            let role = claims["role"]?.stringValue.flatMap(Role.init(rawValue:))
        else { return .invalid }
        let caller = Caller(
            kind: .user, subject: subject, businessID: business, role: role, tokenID: claims["jti"]?.stringValue,
            tokenExpires: claims["exp"]?.intValue)
        return .claims(
            UserClaims(
                subject: subject, caller: caller, version: claims["ver"]?.intValue ?? 0, expires: claims["exp"]?.doubleValue ?? 0))
    }

    private func userCaller(_ token: String, requestID: String) async throws -> Outcome {
        let now = Date()
        guard case .claims(let claims) = userClaims(token, now: now) else { return .invalid }
        if let state = sessions.value(claims.subject, now: now) { return claims.outcome(given: state) }
        guard let fetched = try await identity.tokenState(claims.subject, requestID) else { return .invalid }
        sessions.store(claims.subject, fetched)
        return claims.outcome(given: fetched)
    }

    private func keyCaller(_ key: String, requestID: String, budget: LookupBudget) async throws -> Outcome {
        if let known = knownOutcome(.apiKey(key)) { return known }
        guard await budget.hasRoom() else { return .invalid }
        let hash = Secrets.sha256Hex(key)
        guard let caller = try await identity.verifyAPIKey(key, requestID) else {
            keys.store(hash, .refused)
            await budget.spend()
            return .invalid
        }
        keys.store(hash, .owner(caller))
        return .valid(caller)
    }
}
