import CloudGreetCore
import Foundation

/// What other services ask identity, as typed calls: who an API key belongs to, which of a user's
/// tokens still count, and a business's settings. A struct of closures, so tests can stand in for
/// identity; what a test leaves out fails as if identity were down.
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
    public var business: @Sendable (_ id: String, _ requestID: String) async throws -> BusinessInfo
    /// The business whose `settings.phone_number` this is (E.164), or nil when none has it.
    public var businessByPhone: @Sendable (_ phone: String, _ requestID: String) async throws -> BusinessInfo?

    public init(
        verifyAPIKey: @escaping @Sendable (String, String) async throws -> Caller? = { _, _ in throw IdentityClient.down },
        tokenState: @escaping @Sendable (String, String) async throws -> TokenState? = { _, _ in throw IdentityClient.down },
        business: @escaping @Sendable (String, String) async throws -> BusinessInfo = { _, _ in throw IdentityClient.down },
        businessByPhone: @escaping @Sendable (String, String) async throws -> BusinessInfo? = { _, _ in throw IdentityClient.down }
    ) {
        self.verifyAPIKey = verifyAPIKey
        self.tokenState = tokenState
        self.business = business
        self.businessByPhone = businessByPhone
    }

    /// What a call a test left out fails with.
    public static let down = ServiceCallError.unavailable(.identity)

    public static func live(_ client: InternalClient, as service: ServiceName) -> IdentityClient {
        IdentityClient(
            verifyAPIKey: { key, requestID in
                let data: JSONValue
                do {
                    data = try await client.data(
                        .identity, .POST, "/internal/api-keys/verify", body: ["key": .string(key)],
                        as: .service(service), requestID: requestID)
                } catch ServiceCallError.refused(401, _, _, _), ServiceCallError.validation {
                    return nil
                }
                guard let id = data["key_id"]?.stringValue, let business = data["business_id"]?.stringValue,
                    let role = data["role"]?.stringValue.flatMap(Role.init(rawValue:))
                else { throw ServiceCallError.malformed(.identity) }
                return Caller(kind: .apiKey, subject: id, businessID: business, role: role)
            },
            tokenState: { userID, requestID in
                let data: JSONValue
                do {
                    data = try await client.data(
                        .identity, .GET, "/internal/users/\(InternalClient.pathSegment(userID))/token-state",
                        as: .service(service), requestID: requestID)
                } catch ServiceCallError.notFound {
                    return nil
                }
                guard let version = data["token_version"]?.intValue, let revoked = data["revoked_token_ids"]?.arrayValue else {
                    throw ServiceCallError.malformed(.identity)
                }
                return TokenState(version: version, revoked: Set(revoked.compactMap(\.stringValue)))
            },
            business: { id, requestID in
                try BusinessInfo(
                    try await client.data(
                        .identity, .GET, "/internal/businesses/" + InternalClient.pathSegment(id),
                        as: .service(service), requestID: requestID))
            },
            businessByPhone: { phone, requestID in
                let encoded = phone.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? phone
                do {
                    return try BusinessInfo(
                        try await client.data(
                            .identity, .GET, "/internal/business-by-phone?phone_number=\(encoded)",
                            as: .service(service), requestID: requestID))
                } catch ServiceCallError.notFound {
                    return nil
                }
            })
    }
}
