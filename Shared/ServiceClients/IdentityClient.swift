import CloudGreetCore
import Foundation

/// What other services ask identity, as typed calls: who an API key belongs to, and which of a
/// user's tokens still count. A struct of closures, so tests can stand in for identity.
public struct IdentityClient: Sendable {
    /// Which of a user's tokens are still good: those carrying `version` (bumped by a password
    /// reset) and not logged out (`revoked` holds their `jti`s until they expire).
    public struct TokenState: Sendable, Equatable {
        public var version: Int
        public var revoked: Set<String>
        public init(version: Int, revoked: Set<String> = []) {
            self.version = version
            self.revoked = revoked
        }
    }

    /// The caller an active key stands for; nil when identity refuses the key.
    public var verifyAPIKey: @Sendable (_ key: String, _ requestID: String) async throws -> Caller?
    /// nil when the user no longer exists.
    public var tokenState: @Sendable (_ userID: String, _ requestID: String) async throws -> TokenState?

    public init(verifyAPIKey: @escaping @Sendable (String, String) async throws -> Caller?,
                tokenState: @escaping @Sendable (String, String) async throws -> TokenState?)
    {
        self.verifyAPIKey = verifyAPIKey
        self.tokenState = tokenState
    }

    public static func live(_ client: InternalClient, as service: ServiceName) -> IdentityClient {
        IdentityClient(
            verifyAPIKey: { key, requestID in
                let data: JSONValue
                do {
                    data = try await client.call(.identity, .POST, "/internal/api-keys/verify", body: ["key": .string(key)],
                                                 as: .service(service), requestID: requestID).data()
                } catch let error as APIError where error.status == 401 || error.status == 422 {
                    return nil
                }
                guard let id = data["key_id"]?.stringValue, let business = data["business_id"]?.stringValue,
                      let role = data["role"]?.stringValue.flatMap(Role.init(rawValue:))
                else { throw APIError.unavailable("identity answered without a key owner") }
                return Caller(kind: .apiKey, subject: id, businessID: business, role: role)
            },
            tokenState: { userID, requestID in
                let data: JSONValue
                do {
                    data = try await client.call(.identity, .GET, "/internal/users/\(InternalClient.pathSegment(userID))/token-state",
                                                 as: .service(service), requestID: requestID).data()
                } catch let error as APIError where error.status == 404 {
                    return nil
                }
                guard let version = data["token_version"]?.intValue, let revoked = data["revoked_token_ids"]?.arrayValue else {
                    throw APIError.unavailable("identity answered without a token state")
                }
                return TokenState(version: version, revoked: Set(revoked.compactMap(\.stringValue)))
            })
    }
}
