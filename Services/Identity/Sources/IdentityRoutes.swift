import CloudGreetCore
import Foundation
import Hummingbird
import Persistence
import ServiceKit

/// Identity's HTTP surface: `/auth/*`, `/businesses*`, and the internal routes the gateway and
/// other services call.
struct IdentityRoutes: Sendable {
    let runtime: ServiceRuntime
    let store: IdentityStore
    let hasher: PasswordHasher
    let tokens: TokenSigner

    var config: ServiceConfig { runtime.config }
    static let resetTokenLifetime: TimeInterval = 3600

    func register(on router: Router<AppContext>) {
        router.post("/auth/register", use: register)
        router.post("/auth/login", use: login)
        router.post("/auth/forgot-password", use: forgotPassword)
        router.post("/auth/reset-password", use: resetPassword)
        router.get("/businesses", use: listBusinesses)
        router.post("/businesses", use: createBusiness)
        router.get("/businesses/{id}", use: getBusiness)
        router.put("/businesses/{id}", use: updateBusiness)
        router.get("/businesses/{id}/members", use: listMembers)
        router.post("/businesses/{id}/members", use: addMember)
        router.get("/businesses/{id}/api-keys", use: listKeys)
        router.post("/businesses/{id}/api-keys", use: createKey)
        router.delete("/businesses/{id}/api-keys/{key_id}", use: revokeKey)
        router.post("/internal/api-keys/verify", use: verifyKey)
        router.get("/internal/businesses/{id}", use: internalBusiness)
        router.get("/internal/business-by-phone", use: businessByPhone)
    }

    private func body(_ request: Request, _ context: AppContext) async throws -> FieldReader {
        try FieldReader(await request.jsonBody(context: context, maxBytes: config.maxBodyBytes))
    }

    private func issueToken(userID: String, businessID: String, role: Role) -> String {
        let now = Int(Date().timeIntervalSince1970)
        return tokens.sign([
            "sub": .string(userID), "business_id": .string(businessID), "role": .string(role.rawValue),
            "iat": JSONValue(now), "exp": JSONValue(now + config.jwtTTLSeconds),
        ])
    }

    // MARK: auth

    @Sendable func register(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await body(request, context)
        let email = fields.email("email", required: true)
        let password = fields.secret("password", required: true)
        PasswordHasher.validate(password, field: "password", in: fields)
        let businessName = fields.string("business_name", required: true, maxLength: 200)
        let firstName = fields.string("first_name", maxLength: 100)
        let lastName = fields.string("last_name", maxLength: 100)
        try fields.finish()

        let now = Date()
        let user = User(id: ResourceID.make(.user), email: email!, passwordHash: try await hasher.hash(password!),
                        firstName: firstName, lastName: lastName, createdAt: now)
        let business = Business(id: ResourceID.make(.business), name: businessName!, settings: BusinessSettings.defaults,
                                createdAt: now, updatedAt: now)
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
            "token": .string(issueToken(userID: user.id, businessID: business.id, role: .admin)),
            "user": user.json(businessID: business.id, role: .admin), "business": business.json,
            "expires_in": JSONValue(config.jwtTTLSeconds),
        ]
        return .envelope(data, status: .created, message: "Registration successful", context: context)
    }

    @Sendable func login(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await body(request, context)
        let email = fields.string("email", required: true, maxLength: 254)
        let password = fields.secret("password", required: true)
        let businessID = fields.string("business_id", maxLength: 64)
        try fields.finish()

        let user = try await Contact.normalizeEmail(email!).asyncFlatMap { try await store.user(email: $0) }
        // Always run bcrypt, so an unknown email takes as long as a wrong password.
        guard try await hasher.verify(password!, hash: user?.passwordHash), let user else {
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
            "token": .string(issueToken(userID: user.id, businessID: membership.businessID, role: membership.role)),
            "user": user.json(businessID: membership.businessID, role: membership.role),
            "expires_in": JSONValue(config.jwtTTLSeconds),
        ]
        return .envelope(data, message: "Login successful", context: context)
    }

    @Sendable func forgotPassword(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await body(request, context)
        let email = fields.email("email", required: true)
        try fields.finish()
        // The answer never depends on whether the email exists; the lookup and the email happen after it.
        let requestID = context.requestID
        let logger = context.logger
        Task { [self] in
            do {
                guard let user = try await store.user(email: email!) else { return }
                let token = Secrets.randomToken()
                let tokenHash = Secrets.sha256Hex(token)
                try await store.insertResetToken(hash: tokenHash, userID: user.id,
                                                  expiresAt: Date().addingTimeInterval(Self.resetTokenLifetime))
                let link = "\(config.appBaseURL)/reset-password?token=\(token)"
                let content = """
                    Someone asked to reset the password of your CloudGreet account.

                    To choose a new password, open this link within one hour:
                    \(link)

                    If it was not you, ignore this email: your password stays as it is.
                    """
                // Messaging may be briefly down: try a few times; the key keeps a retry from sending twice.
                let body: JSONValue = ["to": .string(user.email), "subject": "Reset your CloudGreet password",
                                       "content": .string(content), "sensitive": true,
                                       "idempotency_key": .string("reset:" + tokenHash)]
                for attempt in 1...3 {
                    do {
                        _ = try await runtime.clients.call(.messaging, .POST, "/internal/emails", body: body,
                                                           as: .service(.identity), requestID: requestID, timeout: 60).data()
                        break
                    } catch let error as APIError where error.status == 503 && attempt < 3 {
                        try await Task.sleep(for: .seconds(attempt * 2))
                    }
                }
            } catch {
                logger.error("password reset email failed", metadata: ["error": .string(String(describing: type(of: error)))])
            }
        }
        return .envelope(nil, message: "If that email belongs to an account, a reset link has been sent", context: context)
    }

    @Sendable func resetPassword(_ request: Request, context: AppContext) async throws -> Response {
        let fields = try await body(request, context)
        let token = fields.secret("token", required: true, maxLength: 200)
        let password = fields.secret("password", required: true)
        PasswordHasher.validate(password, field: "password", in: fields)
        try fields.finish()
        let newHash = try await hasher.hash(password!)
        guard try await store.resetPassword(tokenHash: Secrets.sha256Hex(token!), newHash: newHash) else {
            throw APIError(400, .authInvalidToken, "Reset token is invalid, used or expired")
        }
        return .envelope(nil, message: "Password has been reset", context: context)
    }

    // MARK: businesses

    /// The business named in the path, which must be the caller's own: any other id is a 404.
    private func ownBusiness(_ context: AppContext) throws -> (caller: Caller, businessID: String) {
        let scoped = try context.requireBusiness()
        guard context.parameters.get("id") == scoped.businessID else { throw APIError.notFound(.businessNotFound, "Business") }
        return scoped
    }

    private func requireAdmin(_ caller: Caller) throws {
        guard caller.role == .admin else { throw APIError.forbidden }
    }

    @Sendable func listBusinesses(_ request: Request, context: AppContext) async throws -> Response {
        let (caller, businessID) = try context.requireBusiness()
        let page = try Page(query: request.query)
        let search = request.query["search"].flatMap { $0.isEmpty ? nil : String($0.prefix(200)) }
        if caller.kind == .user {
            let (items, total) = try await store.businesses(userID: caller.subject, search: search, page: page)
            return .envelope(page.list("businesses", items.map(\.json), total: total), context: context)
        }
        // An API key belongs to exactly one business.
        var items: [JSONValue] = []
        if let business = try await store.business(id: businessID),
           search.map({ business.name.lowercased().contains($0.lowercased()) }) ?? true, page.page == 1
        {
            items = [business.json]
        }
        return .envelope(page.list("businesses", items, total: items.count), context: context)
    }

    @Sendable func createBusiness(_ request: Request, context: AppContext) async throws -> Response {
        let caller = try context.requireCaller()
        guard caller.kind == .user else { throw APIError.forbidden }
        let fields = try await body(request, context)
        let name = fields.string("name", required: true, maxLength: 200)
        let settings = fields.nested("settings").map { BusinessSettings.validate($0, defaultCountryCode: config.defaultCountryCode) }
        try fields.finish()
        let now = Date()
        let business = Business(id: ResourceID.make(.business), name: name!,
                                settings: BusinessSettings.defaults.merging(.object(settings ?? [:])),
                                createdAt: now, updatedAt: now)
        do {
            try await store.db.transaction { db in
                try await store.insertBusiness(business, on: db)
                try await store.addMember(userID: caller.subject, businessID: business.id, role: .admin, on: db)
            }
        } catch DatabaseError.uniqueViolation {
            throw APIError.conflict("Another business already uses this phone number", details: ["field": "settings.phone_number"])
        }
        return .envelope(business.json, status: .created, message: "Business created", context: context)
    }

    @Sendable func getBusiness(_ request: Request, context: AppContext) async throws -> Response {
        let (_, businessID) = try ownBusiness(context)
        guard let business = try await store.business(id: businessID) else { throw APIError.notFound(.businessNotFound, "Business") }
        return .envelope(business.json, context: context)
    }

    @Sendable func updateBusiness(_ request: Request, context: AppContext) async throws -> Response {
        let (caller, businessID) = try ownBusiness(context)
        try requireAdmin(caller)
        let fields = try await body(request, context)
        let name = fields.string("name", required: fields.has("name"), maxLength: 200)
        let settings = fields.nested("settings").map { BusinessSettings.validate($0, defaultCountryCode: config.defaultCountryCode) }
        try fields.finish()
        guard var business = try await store.business(id: businessID) else { throw APIError.notFound(.businessNotFound, "Business") }
        if let name { business.name = name }
        if let settings { business.settings = business.settings.merging(.object(settings)) }
        business.updatedAt = Date()
        do {
            try await store.updateBusiness(business)
        } catch DatabaseError.uniqueViolation {
            throw APIError.conflict("Another business already uses this phone number", details: ["field": "settings.phone_number"])
        }
        return .envelope(business.json, message: "Business updated", context: context)
    }

    // MARK: members

    @Sendable func listMembers(_ request: Request, context: AppContext) async throws -> Response {
        let (_, businessID) = try ownBusiness(context)
        let page = try Page(query: request.query)
        let (items, total) = try await store.members(businessID: businessID, page: page)
        return .envelope(page.list("members", items, total: total), context: context)
    }

    @Sendable func addMember(_ request: Request, context: AppContext) async throws -> Response {
        let (caller, businessID) = try ownBusiness(context)
        try requireAdmin(caller)
        let fields = try await body(request, context)
        let email = fields.email("email", required: true)
        let password = fields.secret("password", required: true)
        PasswordHasher.validate(password, field: "password", in: fields)
        let role = fields.oneOf("role", Role.allCases.map(\.rawValue), required: true).flatMap(Role.init(rawValue:))
        let firstName = fields.string("first_name", maxLength: 100)
        let lastName = fields.string("last_name", maxLength: 100)
        try fields.finish()
        let user = User(id: ResourceID.make(.user), email: email!, passwordHash: try await hasher.hash(password!),
                        firstName: firstName, lastName: lastName, createdAt: Date())
        do {
            try await store.db.transaction { db in
                try await store.insertUser(user, on: db)
                try await store.addMember(userID: user.id, businessID: businessID, role: role!, on: db)
            }
        } catch DatabaseError.uniqueViolation {
            throw APIError.conflict("A user with this email already exists", details: ["field": "email"])
        }
        return .envelope(user.json(businessID: businessID, role: role), status: .created, message: "Member added", context: context)
    }

    // MARK: API keys

    @Sendable func listKeys(_ request: Request, context: AppContext) async throws -> Response {
        let (caller, businessID) = try ownBusiness(context)
        try requireAdmin(caller)
        let page = try Page(query: request.query)
        let (items, total) = try await store.keys(businessID: businessID, page: page)
        return .envelope(page.list("api_keys", items.map(\.json), total: total), context: context)
    }

    @Sendable func createKey(_ request: Request, context: AppContext) async throws -> Response {
        let (caller, businessID) = try ownBusiness(context)
        try requireAdmin(caller)
        let fields = try await body(request, context)
        let name = fields.string("name", required: true, maxLength: 100)
        let role = fields.oneOf("role", Role.allCases.map(\.rawValue), required: true).flatMap(Role.init(rawValue:))
        try fields.finish()
        let secret = "cg_" + Secrets.randomToken()
        let record = try await store.insertKey(
            id: ResourceID.make(.key), businessID: businessID, name: name!, role: role!,
            hash: Secrets.sha256Hex(secret), prefix: String(secret.prefix(10)), createdBy: caller.subject)
        // The secret is shown here once; only its hash is kept.
        return .envelope(record.json.merging(["key": .string(secret)]), status: .created,
                         message: "Store this key now: it is not shown again", context: context)
    }

    @Sendable func revokeKey(_ request: Request, context: AppContext) async throws -> Response {
        let (caller, businessID) = try ownBusiness(context)
        try requireAdmin(caller)
        let keyID = try context.parameters.require("key_id", context: context)
        guard let record = try await store.revokeKey(id: keyID, businessID: businessID) else {
            throw APIError.notFound(.resourceNotFound, "API key")
        }
        return .envelope(record.json, message: "API key revoked", context: context)
    }

    // MARK: internal

    /// The gateway asks who an API key belongs to; only active keys answer.
    @Sendable func verifyKey(_ request: Request, context: AppContext) async throws -> Response {
        _ = try context.requireService()
        let fields = try await body(request, context)
        let key = fields.secret("key", required: true, maxLength: 200)
        try fields.finish()
        guard let record = try await store.activeKey(hash: Secrets.sha256Hex(key!)) else {
            throw APIError.invalidToken
        }
        return .envelope(["key_id": .string(record.id), "business_id": .string(record.businessID),
                          "role": .string(record.role.rawValue)], context: context)
    }

    /// Settings for crm, messaging and voice-agent (time zone, hours, phone numbers).
    @Sendable func internalBusiness(_ request: Request, context: AppContext) async throws -> Response {
        _ = try context.requireService()
        let id = try context.parameters.require("id", context: context)
        guard let business = try await store.business(id: id) else { throw APIError.notFound(.businessNotFound, "Business") }
        return .envelope(business.json, context: context)
    }
}

extension IdentityRoutes {
    /// For the webhooks: the business whose `settings.phone_number` Telnyx delivered to.
    @Sendable func businessByPhone(_ request: Request, context: AppContext) async throws -> Response {
        _ = try context.requireService()
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
