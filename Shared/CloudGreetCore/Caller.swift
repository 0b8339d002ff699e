import Foundation

public enum ServiceName: String, CaseIterable, Sendable {
    case gateway, identity, crm
    case voiceAgent = "voice-agent"
    case messaging, analytics

    public var defaultPort: Int {
        switch self {
        case .gateway: 8080
        case .identity: 8081
        case .crm: 8082
        case .voiceAgent: 8083
        case .messaging: 8084
        case .analytics: 8085
        }
    }

    /// `IDENTITY_URL`, `VOICE_AGENT_URL`, ...
    public var urlVariable: String { rawValue.uppercased().replacingOccurrences(of: "-", with: "_") + "_URL" }
    /// Whether the service keeps its own database.
    public var hasDatabase: Bool { self != .analytics && self != .gateway }
}

public enum Role: String, Sendable, CaseIterable, Codable {
    case admin, user, agent
}

/// Who a request is for, as the gateway established it and passed on in the internal credential.
public struct Caller: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case user
        case apiKey = "api_key"
        case service, anonymous
    }

    public var kind: Kind
    /// The user id, the API key id, or the calling service's name.
    public var subject: String
    public var businessID: String?
    public var role: Role?
    /// For a user token: its `jti` and `exp`, so identity can log out exactly that token.
    public var tokenID: String?
    public var tokenExpires: Int?

    public init(
        kind: Kind, subject: String, businessID: String? = nil, role: Role? = nil, tokenID: String? = nil,
        tokenExpires: Int? = nil
    ) {
        self.kind = kind
        self.subject = subject
        self.businessID = businessID
        self.role = role
        self.tokenID = tokenID
        self.tokenExpires = tokenExpires
    }

    public static let anonymous = Caller(kind: .anonymous, subject: "anonymous")
    public static func service(_ name: ServiceName) -> Caller { Caller(kind: .service, subject: name.rawValue) }
}

/// The internal credential: a short-lived HS256 token signed with `INTERNAL_SECRET` that carries
/// the caller and the request id from the gateway (or a calling service) to the service.
/// The user JWTs identity issues (API-CONTRACT.md section 3): who signs them and who they are for.
public enum UserToken {
    public static let issuer = "cloudgreet-identity"
    public static let audience = "cloudgreet-api"
}

public struct InternalCredential: Sendable {
    public static let header = "X-Internal-Token"
    public static let lifetime: TimeInterval = 60
    private let signer: TokenSigner
    private let issuer: ServiceName

    public init(secret: String, previous: String? = nil, issuer: ServiceName) {
        signer = TokenSigner(secret: secret, previous: previous)
        self.issuer = issuer
    }

    /// `requestID` is nil for a credential used for several requests (the gateway's); the request
    /// id then travels only in `X-Request-Id`.
    public func mint(for caller: Caller, requestID: String?, now: Date = Date()) -> String {
        var claims: [String: JSONValue] = [
            "iss": .string(issuer.rawValue), "aud": "cloudgreet-internal", "kind": .string(caller.kind.rawValue),
            "sub": .string(caller.subject),
            "iat": JSONValue(Int(now.timeIntervalSince1970)), "exp": JSONValue(Int(now.timeIntervalSince1970 + Self.lifetime)),
        ]
        if let requestID { claims["rid"] = .string(requestID) }
        if let business = caller.businessID { claims["business_id"] = .string(business) }
        if let role = caller.role { claims["role"] = .string(role.rawValue) }
        if let tokenID = caller.tokenID { claims["tid"] = .string(tokenID) }
        if let tokenExpires = caller.tokenExpires { claims["texp"] = JSONValue(tokenExpires) }
        return signer.sign(claims)
    }

    public func verify(_ token: String, now: Date = Date()) -> Caller? { check(token, now: now)?.caller }

    /// The caller of a valid credential, and when the credential stops being valid.
    public func check(_ token: String, now: Date = Date()) -> (caller: Caller, expires: Date)? {
        guard let claims = try? signer.verify(token, now: now), claims["aud"]?.stringValue == "cloudgreet-internal",
            let kind = claims["kind"]?.stringValue.flatMap(Caller.Kind.init(rawValue:)),
            let subject = claims["sub"]?.stringValue, let expires = claims["exp"]?.doubleValue
        else { return nil }
        let caller = Caller(
            kind: kind, subject: subject, businessID: claims["business_id"]?.stringValue,
            role: claims["role"]?.stringValue.flatMap(Role.init(rawValue:)), tokenID: claims["tid"]?.stringValue,
            tokenExpires: claims["texp"]?.intValue)
        return (caller, Date(timeIntervalSince1970: expires))
    }
}
