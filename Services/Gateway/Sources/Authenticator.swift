import CloudGreetCore
import Foundation
import ServiceClients

/// Turns the credentials of a request into a `Caller`: an HS256 JWT signed with `JWT_SECRET`, or an
/// API key (`Authorization: Bearer cg_...` or `X-API-Key`) that identity vouches for. Keys are
/// cached for 30 s, so a revoked key stops working within the contract's 60 s.
struct Authenticator: Sendable {
    enum Outcome: Sendable, Equatable {
        case none
        case valid(Caller)
        case invalid
    }

    let tokens: TokenSigner
    let keys: APIKeyCache
    let clients: InternalClient

    func authenticate(authorization: String?, apiKey: String?, requestID: String) async throws -> Outcome {
        var credential = apiKey?.trimmingCharacters(in: .whitespaces)
        if credential == nil, let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .invalid }
            credential = parts[1].trimmingCharacters(in: .whitespaces)
        }
        guard let credential, !credential.isEmpty else { return .none }
        if credential.hasPrefix("cg_") { return try await apiKeyCaller(credential, requestID: requestID) }
        return jwtCaller(credential)
    }

    func jwtCaller(_ token: String) -> Outcome {
        guard let claims = try? tokens.verify(token),
              let subject = claims["sub"]?.stringValue, let business = claims["business_id"]?.stringValue,
              let role = claims["role"]?.stringValue.flatMap(Role.init(rawValue:))
        else { return .invalid }
        return .valid(Caller(kind: .user, subject: subject, businessID: business, role: role))
    }

    private func apiKeyCaller(_ key: String, requestID: String) async throws -> Outcome {
        guard key.utf8.count <= 200 else { return .invalid }
        let hash = Secrets.sha256Hex(key)
        switch await keys.lookup(hash) {
        case .known(let caller): return .valid(caller)
        case .refused: return .invalid
        case .unknown: break
        }
        let response = try await clients.call(.identity, .POST, "/internal/api-keys/verify", body: ["key": .string(key)],
                                              as: .service(.gateway), requestID: requestID)
        guard response.status == 200, let data = response.body["data"],
              let id = data["key_id"]?.stringValue, let business = data["business_id"]?.stringValue,
              let role = data["role"]?.stringValue.flatMap(Role.init(rawValue:))
        else {
            if response.status >= 500 { throw APIError.unavailable("identity is unavailable") }
            await keys.store(hash, nil)
            return .invalid
        }
        let caller = Caller(kind: .apiKey, subject: id, businessID: business, role: role)
        await keys.store(hash, caller)
        return .valid(caller)
    }
}

/// Identity's answers about API keys, by key hash, for `ttl` seconds. Refusals are kept too, so
/// that guessing keys does not turn into a stream of calls to identity.
actor APIKeyCache {
    enum Entry: Equatable { case known(Caller), refused, unknown }

    private var entries: [String: (caller: Caller?, expires: Date)] = [:]
    private let ttl: TimeInterval

    init(ttl: TimeInterval = 30) { self.ttl = ttl }

    func lookup(_ hash: String, now: Date = Date()) -> Entry {
        guard let entry = entries[hash] else { return .unknown }
        if entry.expires <= now {
            entries[hash] = nil
            return .unknown
        }
        return entry.caller.map { .known($0) } ?? .refused
    }

    /// `caller` nil records that identity refused the key.
    func store(_ hash: String, _ caller: Caller?, now: Date = Date()) {
        if entries.count > 10_000 { entries = entries.filter { $0.value.expires > now } }
        entries[hash] = (caller, now.addingTimeInterval(ttl))
    }
}
