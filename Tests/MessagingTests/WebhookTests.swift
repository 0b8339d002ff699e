import CloudGreetCore
import Curl
import Foundation
import Logging
import Persistence
import Providers
import ServiceClients
import ServiceKit
import Synchronization
import TestSupport
import Testing

@testable import Messaging

/// Where webhooks may go outside development, and what becomes of an endpoint that keeps failing:
/// the worker against a real database and a local receiver.
@Suite struct WebhookTests {
    @Test(arguments: [
        "https://127.0.0.1/hooks", "https://10.0.0.1/hooks", "https://[::1]/hooks", "https://169.254.169.254/latest",
        "https://172.20.1.1/", "https://192.168.1.10/", "https://100.64.0.1/", "https://0.0.0.0/", "https://[fe80::1]/",
        "https://[fd00::1]/", "https://[::ffff:127.0.0.1]/", "https://localhost/hooks", "https://localhost:8443/hooks",
    ])
    func privateAddressesAreRefusedOutsideDevelopment(_ url: String) async throws {
        await #expect(throws: WebhookAddress.Refusal.notPublic) { try await WebhookAddress.check(url, strict: true) }
        // Development allows them, for local receivers.
        #expect(try await WebhookAddress.check(url.replacingOccurrences(of: "https", with: "http"), strict: false).pinned.isEmpty)
    }

    /// Production's rules are on everywhere but development, as messaging reads its settings.
    @Test func addressRulesFollowTheEnvironment() throws {
        let secret = String(repeating: "s", count: 40)
        for (environment, strict) in [("production", true), ("staging", true), ("development", false)] {
            let config = try ServiceConfig(
                service: .messaging,
                environment: ["CLOUDGREET_ENV": environment, "JWT_SECRET": secret + "j", "INTERNAL_SECRET": secret + "i"])
            #expect(try WebhookSettings(config).strictAddresses == strict, "\(environment)")
        }
    }

    @Test func schemesAndShapes() async throws {
        await #expect(throws: WebhookAddress.Refusal.notHTTPS) { try await WebhookAddress.check("http://93.184.216.34/x", strict: true) }
        for url in ["ftp://example.com/x", "not a url", "https://", "https://user:pw@93.184.216.34/", "/relative"] {
            await #expect(throws: WebhookAddress.Refusal.malformed, "\(url)") { try await WebhookAddress.check(url, strict: true) }
        }
        // A public literal needs no DNS, and is pinned as checked.
        let checked = try await WebhookAddress.check("https://93.184.216.34:8443/hooks", strict: true)
        #expect(checked.pinned == ["93.184.216.34:8443:93.184.216.34"])
        #expect(WebhookAddress.isPublic([8, 8, 8, 8]) && WebhookAddress.isPublic([0x26, 0x06, 0x47, 0] + Array(repeating: 0, count: 12)))
    }

    static func webhooks(
        _ db: any Database, strict: Bool, retryFor: TimeInterval = 60, disableAfter: TimeInterval = 3600,
        identityUp: @escaping @Sendable () -> Bool = { true }
    ) -> Webhooks {
        let identity = IdentityClient(business: { id, _ in
            guard identityUp() else { throw IdentityClient.down }
            return BusinessInfo(id: id, name: "Acme", settings: [:], adminEmails: ["owner@example.com"])
        })
        let metrics = ServiceMetrics(service: "messaging")
        return Webhooks(
            store: WebhookStore(db: db),
            settings: WebhookSettings(
                retryFor: retryFor, disableAfter: disableAfter, retryBase: 0.05, timeout: 10, pollSeconds: 0.05, strictAddresses: strict),
            curl: CurlClient(threads: 2), emails: EmailOutbox(store: EmailStore(db: db), mailer: nil, sandboxAllowed: true, metrics: metrics),
            businesses: BusinessDirectory(identity: identity), logger: Logger(label: "test"), metrics: metrics)
    }

    static func database(_ url: String) async throws -> any Database {
        let db = try await DatabaseFactory.open(url: url, logLabel: "t")
        try await Migrator.migrate(db, scope: "messaging", MessagingSchema.migrations)
        return db
    }

    static let business = ResourceID.make(.business)

    static func event(_ resource: String = "lead_1") -> BusinessEvent {
        BusinessEvent(businessID: business, type: "lead.created", resourceID: resource, data: ["id": .string(resource)])
    }

    @Test func registeringAPrivateAddressIsA422OutsideDevelopment() async throws {
        for url in try await TestEnvironment.databaseURLs() {
            let db = try await Self.database(url)
            let strict = Self.webhooks(db, strict: true)
            for address in ["https://127.0.0.1/hooks", "https://10.0.0.1/hooks", "http://93.184.216.34/hooks"] {
                await #expect(throws: APIError.self, "\(address)") {
                    try await strict.register(businessID: Self.business, url: address, events: ["lead.created"])
                }
            }
            #expect(try await db.count("SELECT COUNT(*) AS n FROM webhook_endpoints", []) == 0)
            await db.close()
        }
    }

    @Test func anAddressThatTurnsPrivateIsNotDeliveredTo() async throws {
        for url in try await TestEnvironment.databaseURLs() {
            let db = try await Self.database(url)
            // Registered while allowed (development), delivered under production's rules: the
            // address is checked again before the POST, which is never made.
            let endpoint = try await Self.webhooks(db, strict: false).register(
                businessID: Self.business, url: "https://127.0.0.1:9/hooks", events: ["lead.created"])
            let strict = Self.webhooks(db, strict: true)
            try await strict.store.intake([Self.event()], retryFor: 60)
            #expect(await strict.tick() == 1)
            let log = try await strict.store.attempts(endpointID: endpoint.id, page: Page(limit: 10))
            #expect(log.items.first?["status_code"] == .null)
            #expect(log.items.first?["error"]?.stringValue?.contains("loopback") == true, "\(log.items)")
            await db.close()
        }
    }

    /// An endpoint's answer is read no further than its start (`maxResponseBytes`), and a 64 MB
    /// answer is a delivery like any other.
    @Test func aLongAnswerIsStillADelivery() async throws {
        let receiver = WebhookReceiver()
        await receiver.start()
        defer { receiver.stop() }
        receiver.answer(bytes: 64 << 20)
        for url in try await TestEnvironment.databaseURLs() {
            let db = try await Self.database(url)
            let webhooks = Self.webhooks(db, strict: false)
            let endpoint = try await webhooks.register(businessID: Self.business, url: receiver.url, events: ["lead.created"])
            try await webhooks.store.intake([Self.event()], retryFor: 60)
            #expect(await webhooks.tick() == 1)
            let log = try await webhooks.store.attempts(endpointID: endpoint.id, page: Page(limit: 10))
            #expect(log.total == 1 && log.items.first?["status_code"] == 200 && log.items.first?["error"] == .null, "\(log.items)")
            await db.close()
        }
    }

    /// With identity down when the endpoint is due to be disabled, it stays active; the next failure
    /// with identity back disables it and its admins are told.
    @Test func anEndpointIsDisabledOnlyWhenItsAdminsCanBeTold() async throws {
        let receiver = WebhookReceiver()
        await receiver.start()
        receiver.stop()
        let identityUp = Mutex(false)
        for url in try await TestEnvironment.databaseURLs() {
            identityUp.withLock { $0 = false }
            let db = try await Self.database(url)
            let webhooks = Self.webhooks(db, strict: false, disableAfter: 1, identityUp: { identityUp.withLock { $0 } })
            let endpoint = try await webhooks.register(businessID: Self.business, url: receiver.url, events: ["lead.created"])
            let start = Date()
            try await webhooks.store.intake([Self.event("lead_a")], retryFor: 60, now: start)
            #expect(await webhooks.tick(now: start) == 1)
            try await webhooks.store.intake([Self.event("lead_b")], retryFor: 60, now: start.addingTimeInterval(2))
            #expect(await webhooks.tick(now: start.addingTimeInterval(2)) >= 1)  // lead_a again too
            #expect(try await webhooks.store.endpoint(id: endpoint.id, businessID: Self.business)?.status == .active)
            identityUp.withLock { $0 = true }
            try await webhooks.store.intake([Self.event("lead_c")], retryFor: 60, now: start.addingTimeInterval(3))
            #expect(await webhooks.tick(now: start.addingTimeInterval(3)) >= 1)
            #expect(try await webhooks.store.endpoint(id: endpoint.id, businessID: Self.business)?.status == .disabled)
            let emails = try await db.query("SELECT to_address FROM emails")
            #expect(emails.count == 1 && emails.first?.string("to_address") == "owner@example.com")
            await db.close()
        }
    }

    @Test func aFailingDeliveryGivesUpAndAFailingEndpointIsDisabledAndItsAdminsTold() async throws {
        let receiver = WebhookReceiver()
        await receiver.start()
        receiver.stop()  // nothing listens there any more
        for url in try await TestEnvironment.databaseURLs() {
            let db = try await Self.database(url)
            // Retried for 3 s, disabled after 10 s of failures; the passes are given their time.
            let webhooks = Self.webhooks(db, strict: false, retryFor: 3, disableAfter: 10)
            let endpoint = try await webhooks.register(businessID: Self.business, url: receiver.url, events: ["lead.created"])
            let start = Date()
            func at(_ seconds: TimeInterval) -> Date { start.addingTimeInterval(seconds) }
            func status(_ event: String) async throws -> String? {
                try await db.first(
                    "SELECT d.status FROM webhook_deliveries d JOIN outbound_events e ON e.id = d.event_id WHERE e.resource_id = $1",
                    [.text(event)])?.string("status")
            }
            func tries() async throws -> Int { try await webhooks.store.attempts(endpointID: endpoint.id, page: Page(limit: 100)).total }
            try await webhooks.store.intake([Self.event("lead_a")], retryFor: webhooks.settings.retryFor, now: start)
            // Tried, and tried again after the backoff, until its 3 s are up; then failed for good.
            for second in [0.0, 1, 2] {
                #expect(await webhooks.tick(now: at(second)) == 1)
                #expect(try await status("lead_a") == "sending")
            }
            #expect(await webhooks.tick(now: at(3.5)) == 1)
            #expect(try await status("lead_a") == "failed")
            #expect(try await tries() == 4)
            #expect(await webhooks.tick(now: at(5)) == 0)
            #expect(try await tries() == 4)
            #expect(try await webhooks.store.endpoint(id: endpoint.id, businessID: Self.business)?.status == .active)
            // Failing ever since: the first failure past 10 s disables it, and its admins are emailed once.
            try await webhooks.store.intake([Self.event("lead_b")], retryFor: webhooks.settings.retryFor, now: at(11))
            #expect(await webhooks.tick(now: at(11)) == 1)
            let disabled = try #require(try await webhooks.store.endpoint(id: endpoint.id, businessID: Self.business))
            #expect(disabled.status == .disabled && disabled.failingSince.map { abs($0.timeIntervalSince(start)) < 0.01 } == true)
            #expect(try await status("lead_b") == "failed")
            let emails = try await db.query("SELECT to_address, subject FROM emails")
            #expect(emails.count == 1 && emails.first?.string("to_address") == "owner@example.com")
            #expect(emails.first?.string("subject")?.contains("Webhook disabled") == true)
            // A disabled endpoint gets no new deliveries.
            try await webhooks.store.intake([Self.event("lead_c")], retryFor: 60)
            #expect(try await status("lead_c") == nil)
            await db.close()
        }
    }
}
