import CloudGreetCore
import Foundation
import Hummingbird
import Persistence
import Providers
import ServiceClients
import ServiceKit

/// Identity's HTTP surface: `/auth/*`, `/businesses*`, and the internal routes the gateway and
/// other services call.
struct IdentityRoutes: Sendable {
    let runtime: ServiceRuntime
    let store: IdentityStore
    let hasher: PasswordHasher
    let tokens: TokenSigner
    let messaging: MessagingClient
    /// When set, a business may only claim a phone number this Telnyx account owns.
    let telnyx: TelnyxClient?

    var config: ServiceConfig { runtime.config }
    static let resetTokenLifetime: TimeInterval = 3600
    /// Messaging may be briefly down when a reset is asked for: about 6 s of tries.
    static let resetEmailRetry = RetryPolicy(attempts: 3, baseDelay: .seconds(2), maxDelay: .seconds(4))

    func register(on router: Router<AppContext>) {
        router.post("/auth/register", use: register)
        router.post("/auth/login", use: login)
        router.post("/auth/forgot-password", use: forgotPassword)
        router.post("/auth/reset-password", use: resetPassword)
        let business = router.group().add(middleware: TenantMiddleware())
        business.post("/auth/logout", use: logout)
        business.get("/businesses", use: listBusinesses)
        router.group().add(middleware: TenantMiddleware(usersOnly: true)).post("/businesses", use: createBusiness)
        // `/businesses/{id}...`: another business's id is a 404 before any role is looked at.
        let own = router.group().add(middleware: TenantMiddleware()).add(middleware: OwnBusinessMiddleware())
        own.get("/businesses/{id}", use: getBusiness)
        own.get("/businesses/{id}/members", use: listMembers)
        let admin = router.group().add(middleware: TenantMiddleware()).add(middleware: OwnBusinessMiddleware())
            .add(middleware: RoleMiddleware(.admin))
        admin.put("/businesses/{id}", use: updateBusiness)
        admin.post("/businesses/{id}/members", use: addMember)
        admin.get("/businesses/{id}/api-keys", use: listKeys)
        admin.post("/businesses/{id}/api-keys", use: createKey)
        admin.delete("/businesses/{id}/api-keys/{key_id}", use: revokeKey)
        let services = router.group().add(middleware: ServiceOnlyMiddleware())
        services.post("/internal/api-keys/verify", use: verifyKey)
        services.get("/internal/businesses/{id}", use: internalBusiness)
        services.get("/internal/business-by-phone", use: businessByPhone)
        services.get("/internal/users/{id}/token-state", use: tokenState)
    }

    /// `jti` lets one token be logged out; `ver` lets a password reset refuse every older token.
    private func issueToken(user: User, businessID: String, role: Role) -> String {
        let now = Int(Date().timeIntervalSince1970)
        return tokens.sign([
            "iss": .string(UserToken.issuer), "aud": .string(UserToken.audience), "jti": .string(Secrets.randomToken(bytes: 16)),
            "sub": .string(user.id), "business_id": .string(businessID), "role": .string(role.rawValue),
            "ver": JSONValue(user.tokenVersion), "iat": JSONValue(now), "exp": JSONValue(now + config.jwtTTLSeconds),
        ])
    }

    static let phoneNumberTaken = APIError.conflict("This phone number is not available", details: ["field": "settings.phone_number"])

    /// With Telnyx configured, a number the account does not own is refused exactly like one another
    /// business has, so the answer never tells whether a number is in use.
    private func checkClaim(_ settings: [String: JSONValue]?, current: String?) async throws {
        guard let telnyx, let number = settings?["phone_number"]?.stringValue, number != current else { return }
        let owned: Bool
        do {
            owned = try await telnyx.ownsNumber(number)
        } catch {
            throw APIError(502, .externalServiceError, "Telnyx could not confirm the phone number")
        }
        guard owned else { throw Self.phoneNumberTaken }
    }

    // MARK: auth

    @Sendable func register(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let email = fields.email("email", required: true)
        let password = fields.secret("password", required: true)
        PasswordHasher.validate(password, field: "password", in: fields)
        let businessName = fields.string("business_name", required: true, maxLength: 200)
        let firstName = fields.string("first_name", maxLength: 100)
        let lastName = fields.string("last_name", maxLength: 100)
        try fields.finish()

        let now = Date()
        let user = User(
            id: ResourceID.make(.user), email: try fields.present(email, "email"),
            passwordHash: try await hasher.hash(try fields.present(password, "password")),
            firstName: firstName, lastName: lastName, createdAt: now)
        let business = Business(
            id: ResourceID.make(.business), name: try fields.present(businessName, "business_name"),
            settings: BusinessSettings.defaults, createdAt: now, updatedAt: now)
        do {
            try await store.db.transaction { db in
                try await store.insertUser(user, on: db)
                try await store.insertBusiness(business, on: db)
                try await store.addMember(userID: user.id, businessID: business.id, role: .admin, on: db)
            }
        } catch DatabaseError.uniqueViolation {
            throw APIError.conflict("A user with this email already exists", details: ["field": "email"])
        }
        let data: JSONValue = [
            "token": .string(issueToken(user: user, businessID: business.id, role: .admin)),
            "user": user.json(businessID: business.id, role: .admin), "business": business.json,
            "expires_in": JSONValue(config.jwtTTLSeconds),
        ]
        return .envelope(data, status: .created, message: "Registration successful", context: context)
    }

    @Sendable func login(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let email = fields.string("email", required: true, maxLength: 254)
        let password = fields.secret("password", required: true)
        let businessID = fields.string("business_id", maxLength: 64)
        try fields.finish()

        let user = try await Contact.normalizeEmail(try fields.present(email, "email")).asyncFlatMap { try await store.user(email: $0) }
        // Always run bcrypt, so an unknown email takes as long as a wrong password.
        guard try await hasher.verify(try fields.present(password, "password"), hash: user?.passwordHash), let user else {
            throw APIError(401, .authInvalidCredentials, "Invalid email or password")
        }
        let membership: (businessID: String, role: Role)
        if let businessID {
            guard let role = try await store.role(userID: user.id, businessID: businessID) else { throw APIError.forbidden }
            membership = (businessID, role)
        } else {
            guard let first = try await store.firstMembership(userID: user.id) else { throw APIError.forbidden }
            membership = first
        }
        let data: JSONValue = [
            "token": .string(issueToken(user: user, businessID: membership.businessID, role: membership.role)),
            "user": user.json(businessID: membership.businessID, role: membership.role),
            "expires_in": JSONValue(config.jwtTTLSeconds),
        ]
        return .envelope(data, message: "Login successful", context: context)
    }

    @Sendable func forgotPassword(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let email = try fields.present(fields.email("email", required: true), "email")
        try fields.finish()
        // The answer never depends on whether the email exists; the lookup and the email happen after it.
        let requestID = context.requestID
        let logger = context.logger
        Task { [self] in
            do {
                guard let user = try await store.user(email: email) else { return }
                let token = Secrets.randomToken()
                let tokenHash = Secrets.sha256Hex(token)
                try await store.insertResetToken(
                    hash: tokenHash, userID: user.id,
                    expiresAt: Date().addingTimeInterval(Self.resetTokenLifetime))
                let link = "\(config.appBaseURL)/reset-password?token=\(token)"
                let content = """
                    Someone asked to reset the password of your CloudGreet account.

                    To choose a new password, open this link within one hour:
                    \(link)

                    If it was not you, ignore this email: your password stays as it is.
                    """
                // Messaging may be briefly down: try a few times; the key keeps a retry from sending twice.
                let email = MessagingClient.Email(
                    to: user.email, subject: "Reset your CloudGreet password", content: content,
                    sensitive: true, idempotencyKey: "reset:" + tokenHash)
                _ = try await Self.resetEmailRetry.run({ try await messaging.sendEmail(email, requestID) }) { result in
                    if case .failure(ServiceCallError.unavailable) = result { .retry(after: nil) } else { .stop }
                }
            } catch {
                logger.error("password reset email failed", metadata: ["error": .string(String(describing: type(of: error)))])
            }
        }
        return .envelope(nil, message: "If that email belongs to an account, a reset link has been sent", context: context)
    }

    @Sendable func resetPassword(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let token = fields.secret("token", required: true, maxLength: 200)
        let password = fields.secret("password", required: true)
        PasswordHasher.validate(password, field: "password", in: fields)
        try fields.finish()
        let newHash = try await hasher.hash(try fields.present(password, "password"))
        guard try await store.resetPassword(tokenHash: Secrets.sha256Hex(try fields.present(token, "token")), newHash: newHash) else {
            throw APIError(400, .authInvalidToken, "Reset token is invalid, used or expired")
        }
        return .envelope(nil, message: "Password has been reset", context: context)
    }

    /// Logs out the token this request came with: the gateway refuses it within its cache time.
    @Sendable func logout(_ request: Request, context: AppContext) async throws -> Response {
        let caller = try context.scoped().caller
        guard caller.kind == .user, let tokenID = caller.tokenID, let expires = caller.tokenExpires else {
            throw APIError.validation(field: "authorization", "only a user token can be logged out; revoke API keys instead")
        }
        try await store.revokeToken(id: tokenID, userID: caller.subject, expiresAt: Date(timeIntervalSince1970: Double(expires)))
        return .envelope(nil, message: "Logged out", context: context)
    }

    // MARK: businesses

    @Sendable func listBusinesses(_ request: Request, context: AppContext) async throws -> Response {
        let tenant = try context.scoped()
        let (caller, businessID) = (tenant.caller, tenant.businessID)
        let page = try Page(query: request.query)
        let search = request.query["search"].flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
        if caller.kind == .user {
            return .envelope(
                try await store.businesses(userID: caller.subject, search: search, page: page).json("businesses"),
                context: context)
        }
        // An API key belongs to exactly one business.
        var items: [Business] = []
        if let business = try await store.business(id: businessID),
            search.map({ business.name.lowercased().contains($0.lowercased()) }) ?? true, page.page == 1
        {
            items = [business]
        }
        return .envelope(Paged(items, total: items.count, page: page).json("businesses"), context: context)
    }

    @Sendable func createBusiness(_ request: Request, context: AppContext) async throws -> Response {
        let caller = try context.scoped().caller
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let name = fields.string("name", required: true, maxLength: 200)
        let settings = fields.nested("settings").map { BusinessSettings.validate($0, defaultCountryCode: config.defaultCountryCode) }
        try fields.finish()
        try await checkClaim(settings, current: nil)
        let now = Date()
        let business = Business(
            id: ResourceID.make(.business), name: try fields.present(name, "name"),
            settings: BusinessSettings.defaults.merging(.object(settings ?? [:])),
            createdAt: now, updatedAt: now)
        do {
            try await store.db.transaction { db in
                try await store.insertBusiness(business, on: db)
                try await store.addMember(userID: caller.subject, businessID: business.id, role: .admin, on: db)
            }
        } catch DatabaseError.uniqueViolation {
            throw Self.phoneNumberTaken
        }
        return .envelope(business.json, status: .created, message: "Business created", context: context)
    }

    @Sendable func getBusiness(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        guard let business = try await store.business(id: businessID) else { throw APIError.notFound(.businessNotFound, "Business") }
        return .envelope(business.json, context: context)
    }

    @Sendable func updateBusiness(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let name = fields.string("name", required: fields.has("name"), maxLength: 200)
        let settings = fields.nested("settings").map { BusinessSettings.validate($0, defaultCountryCode: config.defaultCountryCode) }
        try fields.finish()
        guard var business = try await store.business(id: businessID) else { throw APIError.notFound(.businessNotFound, "Business") }
        try await checkClaim(settings, current: business.settings["phone_number"]?.stringValue)
        if let name { business.name = name }
        if let settings { business.settings = business.settings.merging(.object(settings)) }
        business.updatedAt = Date()
        do {
            try await store.updateBusiness(business)
        } catch DatabaseError.uniqueViolation {
            throw Self.phoneNumberTaken
        }
        return .envelope(business.json, message: "Business updated", context: context)
    }

    // MARK: members

    @Sendable func listMembers(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let page = try Page(query: request.query)
        let members = try await store.members(businessID: businessID, page: page)
        return .envelope(members.json("members"), context: context)
    }

    @Sendable func addMember(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let email = fields.email("email", required: true)
        let password = fields.secret("password", required: true)
        PasswordHasher.validate(password, field: "password", in: fields)
        let role = fields.oneOf("role", Role.allCases.map(\.rawValue), required: true).flatMap(Role.init(rawValue:))
        let firstName = fields.string("first_name", maxLength: 100)
        let lastName = fields.string("last_name", maxLength: 100)
        try fields.finish()
        let memberRole = try fields.present(role, "role")
        let user = User(
            id: ResourceID.make(.user), email: try fields.present(email, "email"),
            passwordHash: try await hasher.hash(try fields.present(password, "password")),
            firstName: firstName, lastName: lastName, createdAt: Date())
        do {
            try await store.db.transaction { db in
                try await store.insertUser(user, on: db)
                try await store.addMember(userID: user.id, businessID: businessID, role: memberRole, on: db)
            }
        } catch DatabaseError.uniqueViolation {
            throw APIError.conflict("A user with this email already exists", details: ["field": "email"])
        }
        return .envelope(user.json(businessID: businessID, role: role), status: .created, message: "Member added", context: context)
    }

    // MARK: API keys

    @Sendable func listKeys(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let page = try Page(query: request.query)
        let keys = try await store.keys(businessID: businessID, page: page)
        return .envelope(keys.json("api_keys"), context: context)
    }

    @Sendable func createKey(_ request: Request, context: AppContext) async throws -> Response {
        let tenant = try context.scoped()
        let (caller, businessID) = (tenant.caller, tenant.businessID)
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let name = fields.string("name", required: true, maxLength: 100)
        let role = fields.oneOf("role", Role.allCases.map(\.rawValue), required: true).flatMap(Role.init(rawValue:))
        try fields.finish()
        let secret = "cg_" + Secrets.randomToken()
        let record = try await store.insertKey(
            id: ResourceID.make(.key), businessID: businessID, name: try fields.present(name, "name"),
            role: try fields.present(role, "role"),
            hash: Secrets.sha256Hex(secret), prefix: String(secret.prefix(10)), createdBy: caller.subject)
        // The secret is shown here once; only its hash is kept.
        return .envelope(
            record.json.merging(["key": .string(secret)]), status: .created,
            message: "Store this key now: it is not shown again", context: context)
    }

    @Sendable func revokeKey(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let keyID = try context.parameters.require("key_id", context: context)
        guard let record = try await store.revokeKey(id: keyID, businessID: businessID) else {
            throw APIError.notFound(.resourceNotFound, "API key")
        }
        return .envelope(record.json, message: "API key revoked", context: context)
    }

    // MARK: internal

    /// The gateway asks who an API key belongs to; only active keys answer.
    @Sendable func verifyKey(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes)
        let key = fields.secret("key", required: true, maxLength: 200)
        try fields.finish()
        guard let record = try await store.activeKey(hash: Secrets.sha256Hex(try fields.present(key, "key"))) else {
            throw APIError.invalidToken
        }
        return .envelope(
            [
                "key_id": .string(record.id), "business_id": .string(record.businessID),
                "role": .string(record.role.rawValue),
            ], context: context)
    }

    /// Settings for crm, messaging and voice-agent (time zone, hours, phone numbers).
    @Sendable func internalBusiness(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.parameters.require("id", context: context)
        guard let business = try await store.business(id: id) else { throw APIError.notFound(.businessNotFound, "Business") }
        let admins = try await store.adminEmails(businessID: id)
        return .envelope(business.json.merging(["admin_emails": .array(admins.map(JSONValue.string))]), context: context)
    }
}

extension IdentityRoutes {
    /// For the gateway: which of the user's tokens still count (see `IdentityClient.TokenState`).
    @Sendable func tokenState(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.parameters.require("id", context: context)
        guard let state = try await store.tokenState(userID: id) else { throw APIError.notFound(.resourceNotFound, "User") }
        return .envelope(
            ["token_version": JSONValue(state.version), "revoked_token_ids": .array(state.revoked.map { .string($0) })],
            context: context)
    }

    /// For the webhooks: the business whose `settings.phone_number` Telnyx delivered to.
    @Sendable func businessByPhone(_ request: Request, context: AppContext) async throws -> Response {
        guard let phone = request.query["phone_number"].flatMap({ Contact.normalizePhone($0, defaultCountryCode: config.defaultCountryCode) }),
            let business = try await store.business(phoneNumber: phone)
        else { throw APIError.notFound(.businessNotFound, "Business") }
        return .envelope(business.json, context: context)
    }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

/// Route-group middleware for `/businesses/{id}...`: the id must be the caller's own business; any
/// other, including another business of the same user, is a 404.
struct OwnBusinessMiddleware: RouterMiddleware {
    typealias Context = AppContext

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        guard context.parameters.get("id") == (try context.scoped().businessID) else {
            throw APIError.notFound(.businessNotFound, "Business")
        }
        return try await next(request, context)
    }
}
