import CloudGreetCore
import Foundation
import TestSupport
import Testing

/// End to end: the six executables as separate processes, driven through the gateway like an API
/// client. Serialized: each test starts its own processes on these two cores.
@Suite(.serialized) struct StackTests {
    enum Engine: String, CaseIterable { case sqlite, postgres }

    /// DATABASE_URLs for a stack on `engine`; nil when PostgreSQL is wanted but not available (outside CI).
    static func databases(_ engine: Engine) async throws -> [ServiceName: String]? {
        guard engine == .postgres else { return [:] }
        var urls: [ServiceName: String] = [:]
        for service in ServiceName.allCases where service.hasDatabase {
            guard let url = try await TestEnvironment.postgresDatabaseURL() else { return nil }
            urls[service] = url
        }
        return urls
    }

    @Test(arguments: Engine.allCases)
    func identityFlowThroughTheGateway(engine: Engine) async throws {
        guard let databases = try await Self.databases(engine) else { return }
        let smtp = try await SMTPTestServer(directory: TestEnvironment.temporaryDirectory())
        defer { smtp.stop() }
        let stack = try await Stack(
            environment: [
                "SMTP_URL": smtp.url, "EMAIL_FROM": "no-reply@cloudgreet.test",
                "API_KEY_CACHE_SECONDS": "2", "APP_BASE_URL": "https://app.cloudgreet.test",
            ],
            databases: databases)
        defer { stack.stop() }

        // Register and log in.
        let owner = try await stack.register("owner@example.com")
        let login = try await stack.call(.POST, "/auth/login", ["email": "owner@example.com", "password": "password123"])
        #expect(login.status == 200)
        let token = try #require(login.data["token"]?.stringValue)
        #expect(login.header("X-RateLimit-Limit") == "100")

        // Read and update the business.
        let business = try await stack.call(.GET, "/businesses/\(owner.businessID)", token: token)
        #expect(business.status == 200 && business.data["name"] == "Acme Plumbing")
        let updated = try await stack.call(
            .PUT, "/businesses/\(owner.businessID)",
            ["name": "Acme Plumbing & Heating", "settings": ["timezone": "America/Denver"]],
            token: token)
        #expect(updated.status == 200)
        #expect(updated.data["settings"]?["timezone"] == "America/Denver")
        #expect(updated.data["settings"]?["reminders"]?["enabled"] == true)

        // A member with role `user` may read but not update the business.
        let member = try await stack.call(
            .POST, "/businesses/\(owner.businessID)/members",
            [
                "email": "tech@example.com", "password": "password456", "role": "user", "first_name": "Tess",
            ], token: token)
        #expect(member.status == 201)
        let memberLogin = try await stack.call(.POST, "/auth/login", ["email": "tech@example.com", "password": "password456"])
        let memberToken = try #require(memberLogin.data["token"]?.stringValue)
        #expect(try await stack.call(.GET, "/businesses/\(owner.businessID)", token: memberToken).status == 200)
        let refused = try await stack.call(.PUT, "/businesses/\(owner.businessID)", ["name": "Tess Co"], token: memberToken)
        #expect(refused.status == 403 && refused.code == "AUTH_INSUFFICIENT_PERMISSIONS")

        // An API key works, then stops working once revoked (well within the contract's 60 s).
        let created = try await stack.call(
            .POST, "/businesses/\(owner.businessID)/api-keys",
            ["name": "CRM sync", "role": "user"], token: token)
        #expect(created.status == 201)
        let key = try #require(created.data["key"]?.stringValue)
        let viaHeader = try await stack.call(.GET, "/businesses/\(owner.businessID)", headers: [("X-API-Key", key)])
        #expect(viaHeader.status == 200)
        #expect(viaHeader.header("X-RateLimit-Limit") == "1000")
        #expect(try await stack.call(.GET, "/businesses/\(owner.businessID)", token: key).status == 200)
        let keyID = try #require(created.data["id"]?.stringValue)
        #expect(try await stack.call(.DELETE, "/businesses/\(owner.businessID)/api-keys/\(keyID)", token: token).status == 200)
        let revokedAt = Date()
        var stillWorks = true
        while stillWorks && Date().timeIntervalSince(revokedAt) < 60 {
            let reply = try await stack.call(.GET, "/businesses/\(owner.businessID)", headers: [("X-API-Key", key)])
            stillWorks = reply.status == 200
            if stillWorks { try await Task.sleep(for: .milliseconds(250)) } else { #expect(reply.code == "AUTH_INVALID_TOKEN") }
        }
        #expect(!stillWorks)

        // Password reset by email on a real SMTP server.
        let unknown = try await stack.call(.POST, "/auth/forgot-password", ["email": "nobody@example.com"])
        let forgot = try await stack.call(.POST, "/auth/forgot-password", ["email": "owner@example.com"])
        #expect(forgot.status == 200 && unknown.status == 200 && forgot.body["message"] == unknown.body["message"])
        let email = try await smtp.waitForMessage(containing: "https://app.cloudgreet.test/reset-password?token=")
        #expect(email.contains("To: owner@example.com"))
        let bodyText = SMTPTestServer.decodedBody(email)
        let resetToken = try #require(
            bodyText.components(separatedBy: "reset-password?token=").last?
                .prefix { !$0.isWhitespace }
        ).description
        #expect(smtp.messages().count == 1)  // nothing went to the unknown address
        let reset = try await stack.call(.POST, "/auth/reset-password", ["token": .string(resetToken), "password": "brand-new-pass"])
        #expect(reset.status == 200)
        #expect(
            try await stack.call(.POST, "/auth/reset-password", ["token": .string(resetToken), "password": "again-new-pass"])
                .code == "AUTH_INVALID_TOKEN")
        #expect(try await stack.call(.POST, "/auth/login", ["email": "owner@example.com", "password": "password123"]).status == 401)
        let fresh = try await stack.call(.POST, "/auth/login", ["email": "owner@example.com", "password": "brand-new-pass"])
        #expect(fresh.status == 200)
        let newToken = try #require(fresh.data["token"]?.stringValue)

        // Tokens issued before the reset stop working within the contract's 60 s; the new one works.
        try await expectRefusedWithin60s(token, stack: stack, businessID: owner.businessID)
        try await expectRefusedWithin60s(owner.token, stack: stack, businessID: owner.businessID)
        #expect(try await stack.call(.GET, "/businesses/\(owner.businessID)", token: newToken).status == 200)

        // A token sent with login does not move it out of the anonymous bucket.
        let withToken = try await stack.call(
            .POST, "/auth/login", ["email": "owner@example.com", "password": "brand-new-pass"],
            token: newToken)
        #expect(withToken.header("X-RateLimit-Limit") == "100")

        // Search reads `+` as a space, as forms and most clients send it.
        _ = try await stack.call(.POST, "/leads", ["name": "Alpha Plumbing", "email": "alpha@example.com"], token: newToken)
        let plus = try await stack.call(.GET, "/leads?search=alpha+plumbing", token: newToken)
        let percent = try await stack.call(.GET, "/leads?search=alpha%20plumbing", token: newToken)
        #expect(plus.data["pagination"]?["total"] == 1 && plus.data["leads"] == percent.data["leads"])

        // Logout: that token stops working, another session of the same user does not.
        let other = try await stack.call(.POST, "/auth/login", ["email": "owner@example.com", "password": "brand-new-pass"])
        let otherToken = try #require(other.data["token"]?.stringValue)
        #expect(try await stack.call(.POST, "/auth/logout", token: newToken).status == 200)
        try await expectRefusedWithin60s(newToken, stack: stack, businessID: owner.businessID)
        #expect(try await stack.call(.GET, "/businesses/\(owner.businessID)", token: otherToken).status == 200)

        // Health through the gateway: every service and every service database.
        let health = try await stack.health("healthy")
        #expect(health.status == 200 && health.data["overall"] == "healthy")
        let names = Set(health.data["checks"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
        #expect(
            names == [
                "gateway", "identity", "crm", "voice-agent", "messaging", "analytics", "identity-database",
                "crm-database", "voice-agent-database", "messaging-database",
            ])

        // No secrets or passwords in any log line.
        let logs = stack.logs
        for secret in [resetToken, key, "password123", "brand-new-pass", token] { #expect(!logs.contains(secret)) }
        // The gateway's request id reaches the service that did the work, and every service has metrics.
        #expect(stack.processes[.identity]?.log.contains(login.header("X-Request-Id") ?? "missing") == true)
        // The gateway's port is public: its metrics need the scraper's token.
        let scraper = [("Authorization", "Bearer \(Stack.metricsToken)")]
        for service in ServiceName.allCases {
            let metrics = try await TestHTTP.request(.GET, stack.url(service) + "/metrics", headers: service == .gateway ? scraper : [])
            #expect(metrics.status == 200 && metrics.text.contains("http_requests_total{service=\"\(service.rawValue)\""))
        }
        #expect(try await TestHTTP.request(.GET, stack.gateway + "/metrics").status == 401)
        let gatewayMetrics = try await TestHTTP.request(.GET, stack.gateway + "/metrics", headers: scraper).text
        // SIGTERM: every service drains and exits cleanly.
        for service in ServiceName.allCases {
            stack.processes[service]?.stop()
            #expect(stack.processes[service]?.exitStatus == 0, "\(service)")
        }
        #expect(gatewayMetrics.contains("upstream_responses_total{service=\"gateway\",status=\"200\",upstream=\"identity\"}"))
    }

    /// A database that is not there yet is waited for (bounded, logged); SIGTERM makes `/readyz` fail
    /// while the server still answers, then the process exits cleanly.
    @Test func startUpWaitsForTheDatabaseAndShutdownDrainsFirst() async throws {
        guard let (url, create) = try TestEnvironment.postgresDatabaseNotYetCreated() else { return }
        let directory = TestEnvironment.temporaryDirectory()
        let port = TestEnvironment.freePort()
        let crm = try ManagedProcess(
            name: "crm-late", executable: "\(TestEnvironment.binDirectory)/cloudgreet-crm",
            environment: [
                "CLOUDGREET_DATA_DIR": directory, "PORT": String(port), "DATABASE_URL": url, "SHUTDOWN_DELAY_SECONDS": "2",
                "LOG_FORMAT": "json",
            ], logDirectory: directory)
        defer { crm.kill() }
        try await crm.waitForLog("database not reachable yet")
        #expect(crm.isRunning)
        try await create()
        try await TestHTTP.waitUntilUp("http://127.0.0.1:\(port)/health")
        #expect(try await TestHTTP.request(.GET, "http://127.0.0.1:\(port)/readyz").status == 200)

        crm.terminate()
        try await crm.waitForLog("draining before shutdown")
        #expect(try await TestHTTP.request(.GET, "http://127.0.0.1:\(port)/readyz").status == 503)
        #expect(try await TestHTTP.request(.GET, "http://127.0.0.1:\(port)/livez").status == 200)
        let deadline = Date().addingTimeInterval(15)
        while crm.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        #expect(crm.exitStatus == 0)
    }

    @Test func aBadSettingStopsEachExecutableWithOneLineNamingIt() async throws {
        let directory = TestEnvironment.temporaryDirectory()
        let bad: [ServiceName: (String, String)] = [
            .gateway: ("RATE_LIMIT_WINDOW_SECONDS", "hourly"), .identity: ("BCRYPT_COST", "2"), .crm: ("QUALIFY_THRESHOLD", "-1"),
            .messaging: ("EMAIL_FROM", "CloudGreet"), .voiceAgent: ("PORT", "99999"), .analytics: ("CRM_URL", "crm:8082"),
        ]
        var processes: [(ServiceName, String, ManagedProcess)] = []
        for (service, (name, value)) in bad {
            var env = ["CLOUDGREET_DATA_DIR": directory, "PORT": String(TestEnvironment.freePort()), "SMTP_URL": "smtp://127.0.0.1:2525"]
            env[name] = value
            processes.append(
                (
                    service, name,
                    try ManagedProcess(
                        name: "bad-\(service.rawValue)", executable: "\(TestEnvironment.binDirectory)/cloudgreet-\(service.rawValue)",
                        environment: env, logDirectory: directory)
                ))
        }
        let deadline = Date().addingTimeInterval(30)
        while processes.contains(where: { $0.2.isRunning }) && Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        for (service, name, process) in processes {
            #expect(process.exitStatus == 1, "\(service.rawValue) still running or exited otherwise")
            let lines = process.log.split(separator: "\n").filter { $0.contains("failed to start") }
            #expect(lines.count == 1 && lines.first?.contains("failed to start: \(name) ") == true, "\(service.rawValue): \(process.log)")
            process.kill()
        }
    }

    func expectRefusedWithin60s(_ token: String, stack: Stack, businessID: String) async throws {
        let start = Date()
        while Date().timeIntervalSince(start) < 60 {
            let reply = try await stack.call(.GET, "/businesses/\(businessID)", token: token)
            if reply.status == 401 {
                #expect(reply.code == "AUTH_INVALID_TOKEN")
                return
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        Issue.record("a revoked token still worked 60 s later")
    }

    @Test func forgedAndForeignCredentialsAreRefused() async throws {
        let stack = try await Stack(services: [.gateway, .identity])
        defer { stack.stop() }
        let alice = try await stack.register("alice@example.com")
        let bob = try await stack.register("bob@example.com", business: "Bob's Salon")

        let now = Int(Date().timeIntervalSince1970)
        let claims: [String: JSONValue] = [
            "sub": .string(alice.userID), "business_id": .string(alice.businessID),
            "role": "admin", "iat": JSONValue(now), "exp": JSONValue(now + 600),
        ]
        let payload = Base64URL.encode(JSONValue.object(claims).encoded())
        var expired = claims
        expired["exp"] = JSONValue(now - 10)
        let forged = [
            Base64URL.encode(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)) + ".\(payload).",
            TokenSigner(secret: "not-the-secret").sign(claims),
            TokenSigner(secret: Stack.jwtSecret).sign(expired),
            Base64URL.encode(Data(#"{"alg":"HS384","typ":"JWT"}"#.utf8)) + ".\(payload)."
                + alice.token.split(separator: ".")[2],
        ]
        for token in forged {
            let reply = try await stack.call(.GET, "/businesses/\(alice.businessID)", token: token)
            #expect(reply.status == 401 && reply.code == "AUTH_INVALID_TOKEN")
            #expect(reply.body["requestId"]?.stringValue == reply.header("X-Request-Id"))
        }
        // Alice's token asking for Bob's business.
        let foreign = try await stack.call(.GET, "/businesses/\(bob.businessID)", token: alice.token)
        #expect(foreign.status == 404 && foreign.code == "BUSINESS_NOT_FOUND")
        #expect(!foreign.text.contains("Bob's Salon"))
        let wrongParam = try await stack.call(.GET, "/businesses?business_id=\(bob.businessID)", token: alice.token)
        #expect(wrongParam.status == 403)

        // Straight to identity, around the gateway: no internal credential, no entry.
        let direct = try await TestHTTP.request(
            .GET, stack.url(.identity) + "/businesses/\(alice.businessID)",
            headers: [
                ("X-User-Id", alice.userID), ("X-Business-Id", alice.businessID),
                ("X-Role", "admin"),
            ])
        #expect(direct.status == 401 && direct.code == "AUTH_REQUIRED")
        let fakeInternal = InternalCredential(secret: "guess", issuer: .gateway)
            .mint(for: Caller(kind: .user, subject: bob.userID, businessID: bob.businessID, role: .admin), requestID: "r")
        let forgedInternal = try await TestHTTP.request(
            .GET, stack.url(.identity) + "/businesses/\(bob.businessID)",
            headers: [(InternalCredential.header, fakeInternal)])
        #expect(forgedInternal.status == 401)

        // Spoofed identity headers through the gateway are stripped: Alice stays Alice.
        let spoofed = try await stack.call(
            .GET, "/businesses/\(bob.businessID)", token: alice.token,
            headers: [
                ("X-User-Id", bob.userID), ("X-Business-Id", bob.businessID), (InternalCredential.header, fakeInternal),
            ])
        #expect(spoofed.status == 404)
        let anonymousSpoof = try await stack.call(
            .GET, "/businesses/\(bob.businessID)",
            headers: [
                ("X-Business-Id", bob.businessID), ("X-Role", "admin"),
            ])
        #expect(anonymousSpoof.status == 401 && anonymousSpoof.code == "AUTH_REQUIRED")

        // Bad bodies get the envelope through the gateway too.
        let malformed = try await TestHTTP.request(.POST, stack.api + "/auth/login", body: "{\"email\": ")
        #expect(malformed.status == 400 && malformed.code == "VALIDATION_ERROR")
        let huge = try await TestHTTP.request(
            .POST, stack.api + "/auth/login",
            body: "{\"email\":\"" + String(repeating: "a", count: 2 << 20) + "\"}")
        #expect(huge.status == 413 && huge.code == "PAYLOAD_TOO_LARGE")
    }

    @Test func anonymousRateLimitOnASingleGateway() async throws {
        // A day's window: an hour's, aligned to the clock, would start afresh if the test crossed hh:00.
        let stack = try await Stack(
            services: [.gateway, .identity], environment: ["RATE_LIMIT_ANONYMOUS": "5", "RATE_LIMIT_WINDOW_SECONDS": "86400"])
        defer { stack.stop() }
        for index in 1...5 {
            let reply = try await stack.call(.POST, "/auth/login", ["email": "x@example.com", "password": "password123"])
            #expect(reply.status == 401)
            #expect(reply.header("X-RateLimit-Remaining") == String(5 - index))
        }
        let sixth = try await stack.call(.POST, "/auth/login", ["email": "x@example.com", "password": "password123"])
        #expect(sixth.status == 429 && sixth.code == "RATE_LIMIT_EXCEEDED")
        #expect(Int(sixth.header("Retry-After") ?? "") ?? 0 > 0)
        #expect(sixth.header("X-RateLimit-Limit") == "5" && sixth.header("X-RateLimit-Remaining") == "0")
    }

    @Test func twoGatewaysShareTheirCountInPostgreSQL() async throws {
        guard let database = try await TestEnvironment.postgresDatabaseURL() else { return }
        let stack = try await Stack(
            services: [], environment: ["RATE_LIMIT_ANONYMOUS": "5", "RATE_LIMIT_STORE": "postgres", "RATE_LIMIT_WINDOW_SECONDS": "86400"])
        defer { stack.stop() }
        let second = TestEnvironment.freePort()
        try stack.start(.gateway, databaseURL: database)
        try stack.start(.gateway, databaseURL: database, port: second, name: "gateway-2")
        let other = "http://127.0.0.1:\(second)/api"
        try await TestHTTP.waitUntilUp(stack.gateway + "/health")
        try await TestHTTP.waitUntilUp("http://127.0.0.1:\(second)/health")
        var statuses: [Int] = []
        for index in 0..<6 {
            let reply = try await TestHTTP.request(.GET, (index.isMultiple(of: 2) ? stack.api : other) + "/nowhere")
            statuses.append(reply.status)
        }
        #expect(statuses == [404, 404, 404, 404, 404, 429])
    }

    @Test func aKilledServiceIsA503WhileOthersKeepWorking() async throws {
        let stack = try await Stack()
        defer { stack.stop() }
        let owner = try await stack.register("owner@example.com")
        stack.kill(.crm)
        let start = ContinuousClock.now
        let leads = try await stack.call(.GET, "/leads", token: owner.token)
        #expect(ContinuousClock.now - start < .seconds(5))  // not the 10 s upstream time-out
        #expect(leads.status == 503 && leads.code == "SERVICE_UNAVAILABLE")
        #expect(try await stack.call(.GET, "/businesses", token: owner.token).status == 200)
        let health = try await stack.health("degraded")
        #expect(health.status == 200 && health.data["overall"] == "degraded")
        let crm = health.data["checks"]?.arrayValue?.first { $0["name"] == "crm" }
        #expect(crm?["status"] == "unhealthy")

        stack.kill(.identity)
        let down = try await stack.health("unhealthy")
        #expect(down.status == 503 && down.data["overall"] == "unhealthy")
    }
}
