import CloudGreetCore
import Foundation
@testable import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Persistence
import TestSupport
import Testing

@Suite struct RoutingTests {
    @Test func everySeedPathHasItsOwner() {
        let expected: [(String, ServiceName, Routing.Access)] = [
            ("/auth/login", .identity, .anonymous), ("/auth/register", .identity, .anonymous),
            ("/auth/forgot-password", .identity, .anonymous), ("/auth/reset-password", .identity, .anonymous),
            ("/businesses", .identity, .authenticated), ("/businesses/b1/api-keys", .identity, .authenticated),
            ("/agents/a1/start", .voiceAgent, .authenticated), ("/calls", .voiceAgent, .authenticated),
            ("/leads/l1/qualify", .crm, .authenticated), ("/appointments/a1/remind", .crm, .authenticated),
            ("/sms", .messaging, .authenticated), ("/emails", .messaging, .authenticated),
            ("/analytics/overview", .analytics, .authenticated), ("/analytics/leads/scored", .analytics, .authenticated),
            ("/webrtc/webhook", .voiceAgent, .webhook), ("/retell/webhook", .voiceAgent, .webhook),
            ("/sms/webhook", .messaging, .webhook),
        ]
        for (path, service, access) in expected {
            #expect(Routing.route(path) == Routing.Route(service: service, access: access), "\(path)")
        }
        #expect(Routing.route("/internal/api-keys/verify") == nil)
        #expect(Routing.route("/unknown") == nil)
        #expect(Routing.route("/auth/me")?.access == .authenticated)
    }
}

@Suite struct ClientAddressTests {
    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() {
        let resolver = ClientAddress(trustedProxies: ["10.0.0.0/8", "127.0.0.1"])
        #expect(resolver.resolve(peer: "203.0.113.9", forwardedFor: "1.2.3.4") == "203.0.113.9")
        #expect(resolver.resolve(peer: "10.1.2.3", forwardedFor: "1.2.3.4") == "1.2.3.4")
        #expect(resolver.resolve(peer: "10.1.2.3", forwardedFor: "6.6.6.6, 1.2.3.4, 10.9.9.9") == "1.2.3.4")
        #expect(resolver.resolve(peer: "127.0.0.1", forwardedFor: nil) == "127.0.0.1")
        #expect(ClientAddress(trustedProxies: []).resolve(peer: "127.0.0.1", forwardedFor: "1.2.3.4") == "127.0.0.1")
    }
}

@Suite struct RateLimitTests {
    @Test func fixedWindowCountsAndResets() async throws {
        let limiter = RateLimiter(store: MemoryRateLimitStore(), window: 60)
        let start = Date(timeIntervalSince1970: 1_800_000_000)  // a window boundary
        for expected in (0..<3).reversed() {
            let decision = try await limiter.check("ip:1", limit: 3, now: start.addingTimeInterval(5))
            #expect(decision.allowed && decision.remaining == expected)
            #expect(decision.reset == 1_800_000_060)
        }
        let fourth = try await limiter.check("ip:1", limit: 3, now: start.addingTimeInterval(6))
        #expect(!fourth.allowed && fourth.remaining == 0)
        #expect(try await limiter.check("ip:2", limit: 3, now: start.addingTimeInterval(6)).allowed)
        let next = try await limiter.check("ip:1", limit: 3, now: start.addingTimeInterval(61))
        #expect(next.allowed && next.remaining == 2)
    }

    @Test func databaseCountersAreShared() async throws {
        for url in try await TestEnvironment.databaseURLs() {
            let db = try await DatabaseFactory.open(url: url, logLabel: "t")
            try await Migrator.migrate(db, scope: "gateway", SQLRateLimitStore.migrations)
            // Two limiters over one database stand for two gateway replicas.
            let a = RateLimiter(store: SQLRateLimitStore(db: db), window: 3600)
            let b = RateLimiter(store: SQLRateLimitStore(db: db), window: 3600)
            let counts = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    group.addTask { try await (index.isMultiple(of: 2) ? a : b).check("ip:shared", limit: 15).allowed }
                }
                return try await group.reduce(into: [0, 0]) { $0[$1 ? 0 : 1] += 1 }
            }
            #expect(counts == [15, 5], "\(url.prefix(8))")
            await db.close()
        }
    }
}

@Suite struct AuthenticatorTests {
    let secret = "gateway-test-secret"

    func authenticator() throws -> Authenticator {
        let config = try TestEnvironment.config(.gateway, ["IDENTITY_URL": "http://127.0.0.1:\(TestEnvironment.freePort())"])
        return Authenticator(tokens: TokenSigner(secret: secret), keys: APIKeyCache(), clients: .init(config: config))
    }

    func claims(_ extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        var claims: [String: JSONValue] = ["sub": "user_1", "business_id": "business_1", "role": "user",
                                           "iat": JSONValue(Int(Date().timeIntervalSince1970)),
                                           "exp": JSONValue(Int(Date().timeIntervalSince1970) + 600)]
        claims.merge(extra) { $1 }
        return claims
    }

    @Test func validTokensBecomeCallers() async throws {
        let token = TokenSigner(secret: secret).sign(claims())
        let outcome = try await authenticator().authenticate(authorization: "Bearer \(token)", apiKey: nil, requestID: "r")
        #expect(outcome == .valid(Caller(kind: .user, subject: "user_1", businessID: "business_1", role: .user)))
    }

    @Test func forgedTokensAreInvalid() async throws {
        let auth = try authenticator()
        let payload = Base64URL.encode(JSONValue.object(claims()).encoded())
        let noneHeader = Base64URL.encode(Data(#"{"alg":"none","typ":"JWT"}"#.utf8))
        let forged = [
            "\(noneHeader).\(payload).",
            TokenSigner(secret: "wrong-key").sign(claims()),
            TokenSigner(secret: secret).sign(claims(["exp": JSONValue(Int(Date().timeIntervalSince1970) - 5)])),
            TokenSigner(secret: secret).sign(claims(["exp": nil])),
            TokenSigner(secret: secret).sign(claims(["role": "owner"])),
            Base64URL.encode(Data(#"{"alg":"HS512","typ":"JWT"}"#.utf8)) + "." + payload + ".c2ln",
            "not.a.jwt",
        ]
        for token in forged {
            let outcome = try await auth.authenticate(authorization: "Bearer \(token)", apiKey: nil, requestID: "r")
            #expect(outcome == .invalid, "\(token)")
        }
        #expect(try await auth.authenticate(authorization: "Basic abc", apiKey: nil, requestID: "r") == .invalid)
        #expect(try await auth.authenticate(authorization: nil, apiKey: nil, requestID: "r") == .none)
    }

    @Test func apiKeysNeedIdentityAndIdentityDownIsAnOutage() async throws {
        await #expect(throws: APIError.self) {
            try await authenticator().authenticate(authorization: nil, apiKey: "cg_whatever", requestID: "r")
        }
    }

    @Test func keyCacheExpires() async {
        let cache = APIKeyCache(ttl: 30)
        let caller = Caller(kind: .apiKey, subject: "key_1", businessID: "b", role: .user)
        let now = Date()
        await cache.store("h", caller, now: now)
        await cache.store("bad", nil, now: now)
        #expect(await cache.lookup("h", now: now.addingTimeInterval(29)) == .known(caller))
        #expect(await cache.lookup("bad", now: now.addingTimeInterval(29)) == .refused)
        #expect(await cache.lookup("h", now: now.addingTimeInterval(31)) == .unknown)
        #expect(await cache.lookup("other", now: now) == .unknown)
    }
}

/// The gateway application itself, with its upstreams down (nothing listens on their ports).
@Suite struct GatewayAppTests {
    func withGateway(_ values: [String: String] = [:], _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        var environment: [String: String] = [:]
        for service in ServiceName.allCases where service != .gateway {
            environment[service.urlVariable] = "http://127.0.0.1:\(TestEnvironment.freePort())"
        }
        environment.merge(values) { $1 }
        environment["JWT_SECRET"] = "gateway-app-secret"
        let app = try await GatewayService.application(config: try TestEnvironment.config(.gateway, environment))
        try await app.test(.router) { client in try await body(client) }
    }

    func token(role: String = "admin") -> String {
        TokenSigner(secret: "gateway-app-secret").sign([
            "sub": "user_1", "business_id": "business_1", "role": .string(role),
            "iat": JSONValue(Int(Date().timeIntervalSince1970)), "exp": JSONValue(Int(Date().timeIntervalSince1970) + 60),
        ])
    }

    @Test func missingAndBadCredentialsAreRefusedWithRateLimitHeaders() async throws {
        try await withGateway { client in
            try await client.execute(uri: "/api/leads", method: .get) { response in
                #expect(response.status == .unauthorized)
                let body = try JSONValue.decode(response.body.readableBytesView)
                #expect(body["code"] == "AUTH_REQUIRED")
                #expect(response.headers[HTTPField.Name("X-RateLimit-Limit")!] == "100")
                #expect(response.headers[HTTPField.Name("X-Request-Id")!]?.hasPrefix("req_") == true)
            }
            try await client.execute(uri: "/api/leads", method: .get, headers: [.authorization: "Bearer nonsense"]) { response in
                #expect(response.status == .unauthorized)
                let decoded = try JSONValue.decode(response.body.readableBytesView)
                #expect(decoded["code"] == "AUTH_INVALID_TOKEN")
            }
        }
    }

    @Test func aDownUpstreamIsA503Quickly() async throws {
        try await withGateway { client in
            let start = ContinuousClock.now
            try await client.execute(uri: "/api/leads", method: .get, headers: [.authorization: "Bearer \(token())"]) { response in
                #expect(response.status == .serviceUnavailable)
                let decoded = try JSONValue.decode(response.body.readableBytesView)
                #expect(decoded["code"] == "SERVICE_UNAVAILABLE")
                #expect(response.headers[HTTPField.Name("X-RateLimit-Limit")!] == "1000")
            }
            #expect(ContinuousClock.now - start < .seconds(1))
        }
    }

    @Test func aSlowUpstreamIsA503AfterTheUpstreamTimeout() async throws {
        let router = Router()
        router.get("/leads") { _, _ -> Response in
            try await Task.sleep(for: .seconds(3))
            return Response(status: .ok)
        }
        let slowCRM = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await slowCRM.test(.live) { crm in
            try await withGateway(["CRM_URL": "http://127.0.0.1:\(crm.port!)", "UPSTREAM_TIMEOUT_SECONDS": "1"]) { client in
                let start = ContinuousClock.now
                try await client.execute(uri: "/api/leads", method: .get, headers: [.authorization: "Bearer \(token())"]) { response in
                    #expect(response.status == .serviceUnavailable)
                }
                let elapsed = ContinuousClock.now - start
                #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(2))
            }
        }
    }

    @Test func anonymousLimitGives429WithRetryAfter() async throws {
        try await withGateway(["RATE_LIMIT_ANONYMOUS": "5"]) { client in
            for index in 1...5 {
                try await client.execute(uri: "/api/nowhere", method: .get) { response in
                    #expect(response.status == .notFound)
                    #expect(response.headers[HTTPField.Name("X-RateLimit-Remaining")!] == String(5 - index))
                }
            }
            try await client.execute(uri: "/api/nowhere", method: .get) { response in
                #expect(response.status == .tooManyRequests)
                let decoded = try JSONValue.decode(response.body.readableBytesView)
                #expect(decoded["code"] == "RATE_LIMIT_EXCEEDED")
                #expect(Int(response.headers[HTTPField.Name("Retry-After")!] ?? "") ?? 0 > 0)
                #expect(response.headers[HTTPField.Name("X-RateLimit-Remaining")!] == "0")
                #expect(response.headers[HTTPField.Name("X-RateLimit-Reset")!] != nil)
            }
        }
    }

    @Test func oversizedBodiesAre413() async throws {
        try await withGateway(["MAX_BODY_BYTES": "1024"]) { client in
            let body = ByteBuffer(string: "{\"name\":\"" + String(repeating: "x", count: 4096) + "\"}")
            try await client.execute(uri: "/api/leads", method: .post, headers: [.authorization: "Bearer \(token())"],
                                     body: body) { response in
                #expect(response.status == .contentTooLarge)
                let decoded = try JSONValue.decode(response.body.readableBytesView)
                #expect(decoded["code"] == "PAYLOAD_TOO_LARGE")
            }
        }
    }

    @Test func corsAnswersPreflightsForAllowedOriginsOnly() async throws {
        try await withGateway(["CORS_ALLOWED_ORIGINS": "https://app.example.com"]) { client in
            let preflight: HTTPFields = [HTTPField.Name("Origin")!: "https://app.example.com",
                                         HTTPField.Name("Access-Control-Request-Method")!: "POST"]
            try await client.execute(uri: "/api/leads", method: .options, headers: preflight) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == "https://app.example.com")
            }
            let evil: HTTPFields = [HTTPField.Name("Origin")!: "https://evil.example.com",
                                    HTTPField.Name("Access-Control-Request-Method")!: "POST"]
            try await client.execute(uri: "/api/leads", method: .options, headers: evil) { response in
                #expect(response.headers[HTTPField.Name("Access-Control-Allow-Origin")!] == nil)
            }
        }
    }

    @Test func clientRequestIDsAreKeptWhenWellFormed() async throws {
        try await withGateway { client in
            try await client.execute(uri: "/api/x", method: .get, headers: [HTTPField.Name("X-Request-Id")!: "client-42.a_b"]) {
                #expect($0.headers[HTTPField.Name("X-Request-Id")!] == "client-42.a_b")
                let decoded = try JSONValue.decode($0.body.readableBytesView)
                #expect(decoded["requestId"] == "client-42.a_b")
            }
            try await client.execute(uri: "/api/x", method: .get, headers: [HTTPField.Name("X-Request-Id")!: "bad id!"]) {
                #expect($0.headers[HTTPField.Name("X-Request-Id")!]?.hasPrefix("req_") == true)
            }
        }
    }
}
