import CloudGreetCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Persistence
import TestSupport
import Testing

@testable import Identity

/// Identity's routes through HummingbirdTesting, with requests carrying the internal credential
/// the gateway would mint. Every test runs on SQLite and, when the test cluster is up, PostgreSQL.
struct IdentityClient {
    let client: any TestClientProtocol
    let credential: InternalCredential

    struct Reply {
        let status: Int
        let body: JSONValue
        var data: JSONValue { body["data"] ?? .null }
        var code: String? { body["code"]?.stringValue }
    }

    func send(
        _ method: HTTPRequest.Method, _ path: String, _ json: JSONValue? = nil, raw: String? = nil,
        as caller: Caller? = .anonymous, headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        headers[HTTPField.Name("X-Request-Id")!] = "req_test"
        if let caller { headers[HTTPField.Name(InternalCredential.header)!] = credential.mint(for: caller, requestID: "req_test") }
        let body = json.map { ByteBuffer(bytes: $0.encoded()) } ?? raw.map { ByteBuffer(string: $0) }
        return try await client.execute(uri: path, method: method, headers: headers, body: body) { response in
            Reply(status: Int(response.status.code), body: (try? JSONValue.decode(response.body.readableBytesView)) ?? .null)
        }
    }

    /// Registers a fresh admin and returns the caller the gateway would derive from its token.
    func register(_ email: String, business: String = "Acme Plumbing") async throws -> (caller: Caller, reply: Reply) {
        let reply = try await send(
            .post, "/auth/register",
            ["email": .string(email), "password": "password123", "business_name": .string(business)])
        #expect(reply.status == 201)
        let caller = Caller(
            kind: .user, subject: reply.data["user"]?["id"]?.stringValue ?? "",
            businessID: reply.data["business"]?["id"]?.stringValue, role: .admin)
        return (caller, reply)
    }
}

func withIdentity(
    _ environment: [String: String] = [:],
    _ body: @Sendable (IdentityClient, ServiceConfig) async throws -> Void
) async throws {
    for url in try await TestEnvironment.databaseURLs() {
        var values = ["DATABASE_URL": url, "JWT_SECRET": "identity-test-jwt-secret"]
        values.merge(environment) { $1 }
        let config = try TestEnvironment.config(.identity, values)
        let app = try await IdentityService.application(config: config)
        try await app.test(.router) { client in
            try await body(IdentityClient(client: client, credential: config.internalCredential), config)
        }
    }
}

@Suite struct IdentityAuthTests {
    @Test func registerIssuesAnAdminTokenWithTheContractsClaims() async throws {
        try await withIdentity { identity, config in
            let (caller, reply) = try await identity.register("Owner@Example.com")
            #expect(reply.data["user"]?["email"] == "owner@example.com")
            #expect(reply.data["user"]?["role"] == "admin")
            #expect(reply.data["expires_in"] == 3600)
            #expect(reply.data["business"]?["settings"]?["timezone"] == "America/New_York")
            let claims = try TokenSigner(secret: config.jwtSecret).verify(reply.data["token"]?.stringValue ?? "")
            #expect(Set(claims.keys) == ["sub", "business_id", "role", "iat", "exp", "iss", "aud", "jti", "ver"])
            #expect(claims["iss"] == "cloudgreet-identity" && claims["aud"] == "cloudgreet-api" && claims["ver"] == 0)
            #expect(claims["sub"]?.stringValue == caller.subject)
            #expect(claims["business_id"]?.stringValue == caller.businessID)
            #expect(claims["exp"]?.intValue == claims["iat"]!.intValue! + 3600)
        }
    }

    @Test func duplicateEmailsConflictWhateverTheirCase() async throws {
        try await withIdentity { identity, _ in
            _ = try await identity.register("dup@example.com")
            let again = try await identity.send(
                .post, "/auth/register",
                ["email": "DUP@example.com", "password": "password123", "business_name": "Other"])
            #expect(again.status == 409)
            #expect(again.code == "RESOURCE_ALREADY_EXISTS")
        }
    }

    @Test func badBodiesGetTheirDocumentedErrors() async throws {
        try await withIdentity { identity, _ in
            let malformed = try await identity.send(.post, "/auth/register", raw: "{not json")
            #expect(malformed.status == 400)
            #expect(malformed.code == "VALIDATION_ERROR")
            let array = try await identity.send(.post, "/auth/register", raw: "[1,2]")
            #expect(array.status == 400)
            let fields = try await identity.send(
                .post, "/auth/register",
                ["email": "nope", "password": "short", "business_name": 7])
            #expect(fields.status == 422)
            #expect(Set(fields.body["details"]?.objectValue?.keys.map { $0 } ?? []) == ["email", "password", "business_name"])
            let users = try await identity.send(.post, "/auth/login", ["email": "nope@example.com", "password": "password123"])
            #expect(users.code == "AUTH_INVALID_CREDENTIALS")  // and nothing was created by the bad requests
        }
    }

    @Test func loginAnswersTheSameForUnknownEmailsAndWrongPasswords() async throws {
        try await withIdentity { identity, _ in
            _ = try await identity.register("known@example.com")
            let wrong = try await identity.send(.post, "/auth/login", ["email": "known@example.com", "password": "wrongpassword"])
            let unknown = try await identity.send(.post, "/auth/login", ["email": "ghost@example.com", "password": "wrongpassword"])
            #expect(wrong.status == 401 && unknown.status == 401)
            #expect(wrong.code == "AUTH_INVALID_CREDENTIALS" && unknown.code == "AUTH_INVALID_CREDENTIALS")
            #expect(wrong.body["error"] == unknown.body["error"])
            let good = try await identity.send(.post, "/auth/login", ["email": "KNOWN@example.com", "password": "password123"])
            #expect(good.status == 200)
            #expect(good.data["token"]?.stringValue?.isEmpty == false)
        }
    }

    @Test func loginPicksAmongTheUsersBusinesses() async throws {
        try await withIdentity { identity, _ in
            let (caller, _) = try await identity.register("multi@example.com", business: "First")
            let second = try await identity.send(.post, "/businesses", ["name": "Second"], as: caller)
            #expect(second.status == 201)
            let secondID = second.data["id"]?.stringValue
            let login = try await identity.send(
                .post, "/auth/login",
                [
                    "email": "multi@example.com", "password": "password123",
                    "business_id": JSONValue(secondID),
                ])
            #expect(login.data["user"]?["business_id"]?.stringValue == secondID)
            let (stranger, _) = try await identity.register("stranger@example.com")
            let foreign = try await identity.send(
                .post, "/auth/login",
                [
                    "email": "multi@example.com", "password": "password123",
                    "business_id": JSONValue(stranger.businessID),
                ])
            #expect(foreign.status == 403)
        }
    }

    @Test func passwordResetTokensAreSingleUseAndExpire() async throws {
        try await withIdentity { identity, config in
            let (caller, _) = try await identity.register("reset@example.com")
            let known = try await identity.send(.post, "/auth/forgot-password", ["email": "reset@example.com"])
            let unknown = try await identity.send(.post, "/auth/forgot-password", ["email": "nobody@example.com"])
            #expect(known.status == 200 && unknown.status == 200)
            #expect(known.body["message"] == unknown.body["message"] && known.data == unknown.data)

            let store = IdentityStore(db: try await DatabaseFactory.open(url: config.databaseURL, logLabel: "t"))
            try await store.insertResetToken(
                hash: Secrets.sha256Hex("good-token"), userID: caller.subject,
                expiresAt: Date().addingTimeInterval(3600))
            try await store.insertResetToken(
                hash: Secrets.sha256Hex("old-token"), userID: caller.subject,
                expiresAt: Date().addingTimeInterval(-1))
            let expired = try await identity.send(.post, "/auth/reset-password", ["token": "old-token", "password": "newpassword1"])
            #expect(expired.status == 400 && expired.code == "AUTH_INVALID_TOKEN")
            let bogus = try await identity.send(.post, "/auth/reset-password", ["token": "made-up", "password": "newpassword1"])
            #expect(bogus.status == 400 && bogus.code == "AUTH_INVALID_TOKEN")
            let reset = try await identity.send(.post, "/auth/reset-password", ["token": "good-token", "password": "newpassword1"])
            #expect(reset.status == 200)
            let reuse = try await identity.send(.post, "/auth/reset-password", ["token": "good-token", "password": "another-pass"])
            #expect(reuse.status == 400)
            let old = try await identity.send(.post, "/auth/login", ["email": "reset@example.com", "password": "password123"])
            let new = try await identity.send(.post, "/auth/login", ["email": "reset@example.com", "password": "newpassword1"])
            #expect(old.status == 401 && new.status == 200)
            // Only hashes are stored.
            #expect(try await store.db.count("SELECT COUNT(*) AS n FROM reset_tokens WHERE token_hash = 'good-token'") == 0)
        }
    }
}

@Suite struct IdentityBusinessTests {
    @Test func anotherBusinessIsNotFound() async throws {
        try await withIdentity { identity, _ in
            let (alice, _) = try await identity.register("alice@example.com")
            let (bob, _) = try await identity.register("bob@example.com")
            let bobsID = try #require(bob.businessID)
            for (method, path) in [
                (HTTPRequest.Method.get, "/businesses/\(bobsID)"), (.put, "/businesses/\(bobsID)"),
                (.get, "/businesses/\(bobsID)/members"), (.get, "/businesses/\(bobsID)/api-keys"),
            ] {
                let reply = try await identity.send(method, path, method == .put ? ["name": "Hijacked"] : nil, as: alice)
                #expect(reply.status == 404, "\(method) \(path)")
                #expect(reply.code == "BUSINESS_NOT_FOUND")
            }
            let own = try await identity.send(.get, "/businesses/\(bobsID)", as: bob)
            #expect(own.data["name"] == "Acme Plumbing")
            let asked = try await identity.send(.get, "/businesses?business_id=\(bobsID)", as: alice)
            #expect(asked.status == 403)
        }
    }

    @Test func updatesMergeAndValidateSettings() async throws {
        try await withIdentity { identity, _ in
            let (admin, _) = try await identity.register("settings@example.com")
            let id = try #require(admin.businessID)
            let first = try await identity.send(
                .put, "/businesses/\(id)",
                [
                    "settings": [
                        "timezone": "America/Chicago", "phone_number": "(555) 201-0000",
                        "business_hours": ["monday": ["open": "09:00", "close": "17:00"], "sunday": ["closed": true]],
                    ]
                ], as: admin)
            #expect(first.status == 200)
            let second = try await identity.send(
                .put, "/businesses/\(id)", ["name": "Renamed", "settings": ["sms_auto_reply": "Hi!"]],
                as: admin)
            let settings = second.data["settings"]
            #expect(second.data["name"] == "Renamed")
            #expect(settings?["timezone"] == "America/Chicago")
            #expect(settings?["phone_number"] == "+15552010000")
            #expect(settings?["sms_auto_reply"] == "Hi!")
            #expect(settings?["business_hours"]?["monday"] == ["open": "09:00", "close": "17:00"])
            #expect(settings?["reminders"] == ["enabled": true, "hours_before": [24]])

            let bad = try await identity.send(
                .put, "/businesses/\(id)",
                [
                    "settings": [
                        "timezone": "Mars/Olympus", "business_hours": ["monday": ["open": "18:00", "close": "09:00"]],
                        "reminders": ["enabled": "yes"], "color": "blue",
                    ]
                ], as: admin)
            #expect(bad.status == 422)
            #expect(
                Set(bad.body["details"]?.objectValue?.keys.map { $0 } ?? []) == [
                    "settings.timezone", "settings.business_hours.monday.close", "settings.reminders.enabled", "settings.color",
                ])
            let after = try await identity.send(.get, "/businesses/\(id)", as: admin)
            #expect(after.data["settings"]?["timezone"] == "America/Chicago")  // the bad update changed nothing
        }
    }

    @Test func phoneNumbersAreUniqueAcrossBusinesses() async throws {
        try await withIdentity { identity, _ in
            let (a, _) = try await identity.register("a@example.com")
            let (b, _) = try await identity.register("b@example.com")
            let first = try await identity.send(.put, "/businesses/\(a.businessID!)", ["settings": ["phone_number": "+15550001111"]], as: a)
            #expect(first.status == 200)
            let second = try await identity.send(.put, "/businesses/\(b.businessID!)", ["settings": ["phone_number": "555-000-1111"]], as: b)
            #expect(second.status == 409)
        }
    }

    @Test func listsAreSearchableAndPaginated() async throws {
        try await withIdentity { identity, _ in
            let (owner, _) = try await identity.register("lists@example.com", business: "Zeta Salon")
            for name in ["Alpha Clinic", "Beta Clinic", "Gamma Plumbing"] {
                _ = try await identity.send(.post, "/businesses", ["name": .string(name)], as: owner)
            }
            let clinics = try await identity.send(.get, "/businesses?search=CLINIC&limit=1", as: owner)
            #expect(clinics.data["pagination"] == ["page": 1, "limit": 1, "total": 2, "pages": 2])
            #expect(clinics.data["businesses"]?.arrayValue?.first?["name"] == "Beta Clinic")  // newest first
            let bad = try await identity.send(.get, "/businesses?page=0", as: owner)
            #expect(bad.status == 422)
        }
    }

    @Test func rolesAreEnforced() async throws {
        try await withIdentity { identity, _ in
            let (admin, _) = try await identity.register("boss@example.com")
            let id = try #require(admin.businessID)
            let added = try await identity.send(
                .post, "/businesses/\(id)/members",
                [
                    "email": "worker@example.com", "password": "password123", "role": "user", "first_name": "Wes",
                ], as: admin)
            #expect(added.status == 201)
            let duplicate = try await identity.send(
                .post, "/businesses/\(id)/members",
                [
                    "email": "worker@example.com", "password": "password123", "role": "agent",
                ], as: admin)
            #expect(duplicate.status == 409)
            let worker = Caller(kind: .user, subject: added.data["id"]!.stringValue!, businessID: id, role: .user)
            #expect(try await identity.send(.get, "/businesses/\(id)", as: worker).status == 200)
            #expect(try await identity.send(.get, "/businesses/\(id)/members", as: worker).data["members"]?.arrayValue?.count == 2)
            #expect(try await identity.send(.put, "/businesses/\(id)", ["name": "Mine now"], as: worker).status == 403)
            #expect(try await identity.send(.post, "/businesses/\(id)/api-keys", ["name": "k", "role": "admin"], as: worker).status == 403)
            #expect(
                try await identity.send(
                    .post, "/businesses/\(id)/members",
                    [
                        "email": "x@example.com", "password": "password123", "role": "admin",
                    ], as: worker
                ).status == 403)
        }
    }

    @Test func apiKeysAreShownOnceHashedAndRevocable() async throws {
        try await withIdentity { identity, config in
            let (admin, _) = try await identity.register("keys@example.com")
            let id = try #require(admin.businessID)
            let created = try await identity.send(.post, "/businesses/\(id)/api-keys", ["name": "Zapier", "role": "user"], as: admin)
            #expect(created.status == 201)
            let key = try #require(created.data["key"]?.stringValue)
            #expect(key.hasPrefix("cg_"))
            let listed = try await identity.send(.get, "/businesses/\(id)/api-keys", as: admin)
            #expect(listed.data["api_keys"]?.arrayValue?.count == 1)
            #expect(!listed.body.jsonString.contains(key))

            let gateway = Caller.service(.gateway)
            let verified = try await identity.send(.post, "/internal/api-keys/verify", ["key": .string(key)], as: gateway)
            #expect(verified.data["business_id"]?.stringValue == id && verified.data["role"] == "user")
            // Only a service may ask.
            #expect(try await identity.send(.post, "/internal/api-keys/verify", ["key": .string(key)], as: admin).status == 403)

            let keyID = try #require(created.data["id"]?.stringValue)
            let (other, _) = try await identity.register("other-keys@example.com")
            #expect(try await identity.send(.delete, "/businesses/\(other.businessID!)/api-keys/\(keyID)", as: other).status == 404)
            let revoked = try await identity.send(.delete, "/businesses/\(id)/api-keys/\(keyID)", as: admin)
            #expect(revoked.status == 200 && revoked.data["revoked_at"] != .null)
            #expect(try await identity.send(.post, "/internal/api-keys/verify", ["key": .string(key)], as: gateway).status == 401)

            let db = try await DatabaseFactory.open(url: config.databaseURL, logLabel: "t")
            #expect(try await db.count("SELECT COUNT(*) AS n FROM api_keys WHERE key_hash = $1", [.text(Secrets.sha256Hex(key))]) == 1)
        }
    }

    @Test func requestsWithoutTheInternalCredentialAreRefused() async throws {
        try await withIdentity { identity, config in
            let (admin, _) = try await identity.register("direct@example.com")
            let path = "/businesses/\(admin.businessID!)"
            let spoofed: HTTPFields = [
                HTTPField.Name("X-User-Id")!: admin.subject,
                HTTPField.Name("X-Business-Id")!: admin.businessID!, HTTPField.Name("X-Role")!: "admin",
            ]
            let none = try await identity.send(.get, path, as: nil, headers: spoofed)
            #expect(none.status == 401 && none.code == "AUTH_REQUIRED")
            let forged = InternalCredential(secret: "guessed", issuer: .gateway).mint(for: admin, requestID: "r")
            let bad = try await identity.send(.get, path, as: nil, headers: [HTTPField.Name(InternalCredential.header)!: forged])
            #expect(bad.status == 401 && bad.code == "AUTH_INVALID_TOKEN")
            let anonymous = try await identity.send(.get, path, as: .anonymous)
            #expect(anonymous.status == 401 && anonymous.code == "AUTH_REQUIRED")
            let health = try await identity.send(.get, "/health", as: nil)
            #expect(health.status == 200 && health.data["overall"] == "healthy")
        }
    }

    @Test func unknownRoutesAreEnvelopedNotFound() async throws {
        try await withIdentity { identity, _ in
            let reply = try await identity.send(.get, "/nothing/here")
            #expect(reply.status == 404)
            #expect(reply.code == "RESOURCE_NOT_FOUND")
            #expect(reply.body["requestId"] == "req_test")
        }
    }
}

@Suite struct BusinessSettingsTests {
    @Test func hoursAreValidated() throws {
        let fields = try FieldReader([
            "business_hours": [
                "monday": ["open": "08:30", "close": "17:00"], "tuesday": ["closed": true], "friday": ["open": "24:30", "close": "25:00"],
            ]
        ])
        let result = BusinessSettings.validate(fields, defaultCountryCode: "1")
        #expect(result["business_hours"] == nil)
        #expect(Set(fields.errors.keys) == ["business_hours.friday.open", "business_hours.friday.close"])
        #expect(OpeningHours.minutes("24:00") == 1440)
        #expect(OpeningHours.minutes("9:00") == nil)
    }
}

/// What the gateway needs to refuse old tokens, and the input rules of issue 7.
@Suite struct IdentitySessionTests {
    func state(_ identity: IdentityClient, _ user: String) async throws -> IdentityClient.Reply {
        try await identity.send(.get, "/internal/users/\(user)/token-state", as: .service(.gateway))
    }

    @Test func logoutRevokesThatTokenAndAResetRevokesEveryOlderOne() async throws {
        try await withIdentity { identity, config in
            let (owner, reply) = try await identity.register("session@example.com")
            let claims = try TokenSigner(secret: config.jwtSecret).verify(reply.data["token"]?.stringValue ?? "")
            var session = owner
            session.tokenID = claims["jti"]?.stringValue
            session.tokenExpires = claims["exp"]?.intValue
            #expect(try await state(identity, owner.subject).data == ["token_version": 0, "revoked_token_ids": []])

            #expect(try await identity.send(.post, "/auth/logout", as: session).status == 200)
            #expect(try await state(identity, owner.subject).data["revoked_token_ids"] == [.string(session.tokenID ?? "")])
            let key = try await identity.send(
                .post, "/auth/logout",
                as: Caller(
                    kind: .apiKey, subject: "key_1",
                    businessID: owner.businessID, role: .admin))
            #expect(key.status == 422)

            let store = IdentityStore(db: try await DatabaseFactory.open(url: config.databaseURL, logLabel: "t"))
            try await store.insertResetToken(
                hash: Secrets.sha256Hex("reset-token"), userID: owner.subject,
                expiresAt: Date().addingTimeInterval(3600))
            let reset = try await identity.send(.post, "/auth/reset-password", ["token": "reset-token", "password": "newpassword1"])
            #expect(reset.status == 200)
            #expect(try await state(identity, owner.subject).data["token_version"] == 1)
            let login = try await identity.send(.post, "/auth/login", ["email": "session@example.com", "password": "newpassword1"])
            let fresh = try TokenSigner(secret: config.jwtSecret).verify(login.data["token"]?.stringValue ?? "")
            #expect(fresh["ver"] == 1)
            #expect(try await state(identity, "user_unknown").status == 404)
            #expect(try await identity.send(.get, "/internal/users/\(owner.subject)/token-state", as: owner).status == 403)
        }
    }

    @Test func oneLineFieldsRefuseControlCharactersAndSearchReadsPlusAsASpace() async throws {
        try await withIdentity { identity, _ in
            let (owner, _) = try await identity.register("text@example.com", business: "Alpha Plumbing")
            let injected = try await identity.send(.post, "/businesses", ["name": "Evil\r\nX-Header: 1"], as: owner)
            #expect(injected.status == 422 && injected.body["details"]?["name"] != nil)
            let reply = try await identity.send(
                .put, "/businesses/\(owner.businessID ?? "")",
                ["settings": ["sms_auto_reply": "Thanks!\nWe'll call you back."]], as: owner)
            #expect(reply.status == 200)
            for query in ["search=Alpha+Plumbing", "search=Alpha%20Plumbing", "search=alpha+plumb"] {
                let found = try await identity.send(.get, "/businesses?\(query)", as: owner)
                #expect(found.data["pagination"]?["total"] == 1, "\(query)")
            }
            let repeated = try await identity.send(.get, "/businesses?page=1&page=2", as: owner)
            #expect(repeated.status == 422 && repeated.body["details"]?["page"] != nil)
        }
    }

    @Test func withTelnyxOnlyOwnedNumbersCanBeClaimedAndTakenLooksLikeUnowned() async throws {
        let telnyx = FakeTelnyx()
        try await telnyx.start()
        defer { telnyx.stop() }
        telnyx.own("+15550001111")
        try await withIdentity(["TELNYX_API_KEY": telnyx.apiKey, "TELNYX_API_BASE": telnyx.baseURL]) { identity, _ in
            let (a, _) = try await identity.register("owner-a@example.com")
            let (b, _) = try await identity.register("owner-b@example.com")
            let unowned = try await identity.send(
                .put, "/businesses/\(a.businessID ?? "")",
                ["settings": ["phone_number": "+15550002222"]], as: a)
            #expect(unowned.status == 409)
            let owned = try await identity.send(
                .put, "/businesses/\(a.businessID ?? "")",
                ["settings": ["phone_number": "(555) 000-1111"]], as: a)
            #expect(owned.status == 200)
            let lookups = telnyx.numberLookups
            let again = try await identity.send(
                .put, "/businesses/\(a.businessID ?? "")",
                ["settings": ["phone_number": "+15550001111", "timezone": "UTC"]], as: a)
            #expect(again.status == 200 && telnyx.numberLookups == lookups)  // keeping one's own number asks nothing
            let taken = try await identity.send(
                .put, "/businesses/\(b.businessID ?? "")",
                ["settings": ["phone_number": "+15550001111"]], as: b)
            #expect(taken.status == 409)
            #expect(
                taken.body["error"] == unowned.body["error"] && taken.body["code"] == unowned.body["code"]
                    && taken.body["details"] == unowned.body["details"])
            let created = try await identity.send(
                .post, "/businesses", ["name": "Third", "settings": ["phone_number": "+15550003333"]],
                as: b)
            #expect(created.status == 409)
        }
        #expect(telnyx.received.isEmpty)  // number checks are GETs, not messages
    }
}
