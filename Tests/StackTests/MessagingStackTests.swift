import CloudGreetCore
import Crypto
import Foundation
import TestSupport
import Testing

/// messaging through the gateway: sending to a local fake Telnyx and a real SMTP server, and
/// Telnyx's signed webhooks coming in.
@Suite(.serialized) struct MessagingStackTests {
    typealias Engine = StackTests.Engine
    static let businessNumber = "+15557770000"

    struct Setup {
        let world: CRMStackTests.World
        let owner: Stack.Account
        let signer: Curve25519.Signing.PrivateKey
        var stack: Stack { world.stack }

        /// Posts `body` to the webhook through the gateway, signed unless told otherwise.
        func deliver(
            _ body: JSONValue, signedBy key: Curve25519.Signing.PrivateKey? = nil, unsigned: Bool = false,
            timestamp: Date = Date()
        ) async throws -> TestResponse {
            let raw = String(decoding: body.encoded(), as: UTF8.self)
            var headers: [(String, String)] = []
            if !unsigned {
                let stamp = String(Int(timestamp.timeIntervalSince1970))
                let signature = try (key ?? signer).signature(for: Data("\(stamp)|\(raw)".utf8))
                headers = [("telnyx-signature-ed25519", signature.base64EncodedString()), ("telnyx-timestamp", stamp)]
            }
            return try await TestHTTP.request(.POST, stack.api + "/sms/webhook", body: raw, headers: headers)
        }

        /// Telnyx's real `message.received` body.
        static func inbound(from: String, text: String, id: String = UUID().uuidString) -> JSONValue {
            [
                "data": [
                    "event_type": "message.received", "id": .string(id), "occurred_at": "2026-11-29T10:00:00Z",
                    "payload": [
                        "id": .string("msg-" + id), "text": .string(text), "from": ["phone_number": .string(from)],
                        "to": [["phone_number": .string(MessagingStackTests.businessNumber), "status": "webhook_delivered"]],
                    ],
                ],
                "meta": ["attempt": 1],
            ]
        }

        static func delivery(_ type: String, messageID: String, status: String) -> JSONValue {
            [
                "data": [
                    "event_type": .string(type), "id": .string(UUID().uuidString),
                    "payload": ["id": .string(messageID), "to": [["phone_number": "+15552013344", "status": .string(status)]]],
                ]
            ]
        }

        func sms(_ query: String = "") async throws -> [JSONValue] {
            try await stack.call(.GET, "/sms?\(query)", token: owner.token).data["sms"]?.arrayValue ?? []
        }

        /// Polls until `condition` holds (webhook work happens after the answer).
        func eventually(_ what: String, seconds: Double = 15, _ condition: () async throws -> Bool) async throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try await condition() { return }
                try await Task.sleep(for: .milliseconds(150))
            }
            Issue.record("timed out waiting for \(what)")
        }
    }

    static func setup(_ engine: Engine, environment: [String: String] = [:]) async throws -> Setup? {
        let signer = Curve25519.Signing.PrivateKey()
        var env = ["TELNYX_PUBLIC_KEY": signer.publicKey.rawRepresentation.base64EncodedString()]
        env.merge(environment) { $1 }
        guard let world = try await CRMStackTests.world(engine, environment: env) else { return nil }
        let owner = try await world.stack.register("owner@example.com", business: "Ana Plumbing")
        let settings = try await world.stack.call(
            .PUT, "/businesses/\(owner.businessID)",
            [
                "settings": [
                    "phone_number": .string(businessNumber), "sms_auto_reply": "Thanks! We'll call you back shortly.",
                ]
            ], token: owner.token)
        #expect(settings.status == 200)
        return Setup(world: world, owner: owner, signer: signer)
    }

    @Test(arguments: Engine.allCases)
    func sendAndListThroughTheGateway(engine: Engine) async throws {
        guard let setup = try await Self.setup(engine) else { return }
        defer { setup.world.stop() }
        let (stack, token) = (setup.stack, setup.owner.token)
        let lead = try await stack.call(
            .POST, "/leads", ["name": "Ana", "phone": "+15552013344", "email": "ana@example.com"],
            token: token)
        let leadID = try #require(lead.data["id"]?.stringValue)
        #if os(Linux)
            // libcurl, with the twenty-odd libraries it loads, is opened by the first transfer, not at start.
            let messaging = try #require(stack.processes[.messaging])
            #expect(!messaging.mappedFiles.contains("libcurl"))
        #endif

        let sent = try await stack.call(
            .POST, "/sms", ["lead_id": .string(leadID), "message": "Your plumber is on the way."],
            token: token)
        #expect(sent.status == 201)
        #if os(Linux)
            #expect(messaging.mappedFiles.contains("libcurl"))
        #endif
        #expect(sent.data["direction"] == "outbound" && sent.data["status"] == "sent" && sent.data["phone"] == "+15552013344")
        let request = try #require(setup.world.telnyx.received.last)
        #expect(request.authorization == "Bearer \(setup.world.telnyx.apiKey)")
        #expect(request.body == ["from": .string(Self.businessNumber), "to": "+15552013344", "text": "Your plumber is on the way."])
        #expect(sent.data["provider_message_id"]?.stringValue?.isEmpty == false)

        let direct = try await stack.call(.POST, "/sms", ["phone": "(555) 201-9999", "message": "Hello"], token: token)
        #expect(direct.status == 201 && direct.data["phone"] == "+15552019999")
        let long = try await stack.call(
            .POST, "/sms", ["phone": "+15552019999", "message": .string(String(repeating: "x", count: 1601))],
            token: token)
        #expect(long.status == 422)
        let nowhere = try await stack.call(.POST, "/sms", ["message": "to whom?"], token: token)
        #expect(nowhere.status == 422)

        let email = try await stack.call(
            .POST, "/emails",
            [
                "lead_id": .string(leadID), "to": "ana@example.com",
                "subject": "Your estimate", "content": "It comes to $180. ✓",
            ],
            token: token)
        #expect(email.status == 201 && email.data["status"] == "sent")
        let raw = try await setup.world.smtp.waitForMessage(containing: "It comes to $180. ✓")
        #expect(raw.contains("Subject: Your estimate") && raw.contains("To: ana@example.com"))

        #expect(try await setup.sms().count == 2)
        #expect(try await setup.sms("lead_id=\(leadID)").map { $0["id"] } == [sent.data["id"]])
        #expect(try await setup.sms("status=sent&direction=outbound").count == 2)
        #expect(try await setup.sms("direction=inbound").isEmpty)
        #expect(try await stack.call(.GET, "/sms?status=lost", token: token).status == 422)
        let metrics = try await TestHTTP.request(.GET, stack.url(.messaging) + "/metrics").text
        #expect(metrics.contains("provider_requests_total{service=\"messaging\",outcome=\"sent\",provider=\"telnyx\"} 2"))
        let emails = try await stack.call(.GET, "/emails?status=sent", token: token)
        #expect(emails.data["emails"]?.arrayValue?.count == 1)

        // Another business sees nothing and cannot use our lead.
        let rival = try await stack.register("rival@example.com", business: "Rival")
        #expect(try await stack.call(.GET, "/sms", token: rival.token).data["pagination"]?["total"] == 0)
        #expect(try await stack.call(.GET, "/emails", token: rival.token).data["pagination"]?["total"] == 0)
        let borrowed = try await stack.call(.POST, "/sms", ["lead_id": .string(leadID), "message": "hi"], token: rival.token)
        #expect(borrowed.status == 404 && borrowed.code == "LEAD_NOT_FOUND")
    }

    @Test(arguments: Engine.allCases)
    func inboundTextsKeywordsAndDeliveryEvents(engine: Engine) async throws {
        guard let setup = try await Self.setup(engine) else { return }
        defer { setup.world.stop() }
        let (stack, token, telnyx) = (setup.stack, setup.owner.token, setup.world.telnyx)
        let caller = "+15552014444"

        // A signed inbound text: a new lead, the stored message, and the auto-reply.
        let event = Setup.inbound(from: caller, text: "Hi, my sink is leaking")
        let first = try await setup.deliver(event)
        #expect(first.status == 200 && first.data["duplicate"] == false)
        try await setup.eventually("the auto-reply") { setup.world.texts(to: caller).count == 1 }
        #expect(setup.world.texts(to: caller).first?.body["text"] == "Thanks! We'll call you back shortly.")
        let leads = try await stack.call(.GET, "/leads?source=sms", token: token)
        #expect(leads.data["leads"]?.arrayValue?.first?["phone"] == .string(caller))
        let inbound = try await setup.sms("direction=inbound")
        #expect(inbound.count == 1 && inbound.first?["status"] == "received" && inbound.first?["message"] == "Hi, my sink is leaking")

        // The same event again: acknowledged, nothing new.
        let again = try await setup.deliver(event)
        #expect(again.status == 200 && again.data["duplicate"] == true)

        // Unsigned, wrongly signed, stale: 401 and nothing stored.
        let other = Setup.inbound(from: "+15552015555", text: "forged")
        #expect(try await setup.deliver(other, unsigned: true).status == 401)
        #expect(try await setup.deliver(other, signedBy: Curve25519.Signing.PrivateKey()).code == "AUTH_INVALID_TOKEN")
        #expect(try await setup.deliver(other, timestamp: Date().addingTimeInterval(-600)).status == 401)
        try await Task.sleep(for: .seconds(1))
        #expect(try await setup.sms("direction=inbound").count == 1)
        #expect(setup.world.texts(to: caller).count == 1)
        #expect(try await stack.call(.GET, "/leads?source=sms", token: token).data["pagination"]?["total"] == 1)

        // STOP: nothing more goes to that number, from any path, until START.
        _ = try await setup.deliver(Setup.inbound(from: caller, text: "stop"))
        // Stored with its opt-out, in one transaction.
        try await setup.eventually("the STOP to be stored") { try await setup.sms("direction=inbound").count == 2 }
        let before = telnyx.received.count
        let refused = try await stack.call(.POST, "/sms", ["phone": .string(caller), "message": "Special offer!"], token: token)
        #expect(refused.status == 422 && refused.body["details"]?["phone"] != nil)
        let leadID = try #require(leads.data["leads"]?.arrayValue?.first?["id"]?.stringValue)
        let appointment = try await stack.call(
            .POST, "/appointments",
            [
                "lead_id": .string(leadID), "scheduled_date": .string(Timestamp.format(Date().addingTimeInterval(3 * 86400))),
            ], token: token)
        let remind = try await stack.call(
            .POST, "/appointments/\(appointment.data["id"]?.stringValue ?? "")/remind",
            ["method": "sms"], token: token)
        #expect(remind.status == 422)
        #expect(telnyx.received.count == before)

        _ = try await setup.deliver(Setup.inbound(from: caller, text: "START"))
        try await setup.eventually("the START to be stored") { try await setup.sms("direction=inbound").count == 3 }
        let resumed = try await stack.call(.POST, "/sms", ["phone": .string(caller), "message": "Welcome back"], token: token)
        #expect(resumed.status == 201)
        let resumedID = try #require(resumed.data["provider_message_id"]?.stringValue)

        // HELP gets the informational reply.
        _ = try await setup.deliver(Setup.inbound(from: caller, text: "Help"))
        try await setup.eventually("the HELP reply") {
            setup.world.texts(to: caller).contains { $0.body["text"]?.stringValue?.contains("Reply STOP") == true }
        }

        // The seed's body works too.
        let seed: JSONValue = [
            "event_type": "message.received",
            "data": ["from": "+15552016666", "to": .string(Self.businessNumber), "text": "Do you fix boilers?"],
        ]
        #expect(try await setup.deliver(seed).status == 200)
        try await setup.eventually("the seed-format text") { try await setup.sms("direction=inbound").count == 5 }

        // Delivery events move outbound messages on.
        _ = try await setup.deliver(Setup.delivery("message.finalized", messageID: resumedID, status: "delivered"))
        try await setup.eventually("delivered") {
            try await setup.sms("status=delivered").first?["provider_message_id"] == .string(resumedID)
        }
        let failing = try await stack.call(.POST, "/sms", ["phone": "+15552017777", "message": "Will bounce"], token: token)
        let failingID = try #require(failing.data["provider_message_id"]?.stringValue)
        _ = try await setup.deliver(Setup.delivery("message.finalized", messageID: failingID, status: "delivery_failed"))
        try await setup.eventually("failed") { try await setup.sms("status=failed").count == 1 }
    }

    @Test func telnyxTroubleIsRetriedBoundedAndNeverLost() async throws {
        // 2 s, so that a loaded machine's prompt answer is not a time-out (a third try would be sent);
        // the gateway waits longer than the three slow tries below.
        guard let setup = try await Self.setup(.sqlite, environment: ["TELNYX_TIMEOUT_SECONDS": "2", "UPSTREAM_TIMEOUT_SECONDS": "20"])
        else { return }
        defer { setup.world.stop() }
        let (stack, token, telnyx) = (setup.stack, setup.owner.token, setup.world.telnyx)

        // 429 with Retry-After, then accepted: one message, sent after waiting as told.
        telnyx.enqueue(.init(status: 429, headers: [("Retry-After", "1")], body: ["errors": [["code": "10011", "title": "Too many requests"]]]))
        let start = ContinuousClock.now
        let throttled = try await stack.call(.POST, "/sms", ["phone": "+15552013344", "message": "After a pause"], token: token)
        #expect(throttled.status == 201 && ContinuousClock.now - start >= .seconds(1))
        #expect(setup.world.texts(to: "+15552013344").count == 2)

        // Slow past the time-out on every attempt: bounded tries, the message kept as failed, a 502.
        telnyx.setDelay(.seconds(3))
        let slow = try await stack.call(.POST, "/sms", ["phone": "+15552018888", "message": "Too slow"], token: token)
        #expect(slow.status == 502 && slow.code == "EXTERNAL_SERVICE_ERROR")
        #expect(setup.world.texts(to: "+15552018888").count == 3)
        let keptID = try #require(slow.body["details"]?["id"]?.stringValue)
        #expect(try await setup.sms("status=failed").map { $0["id"] } == [.string(keptID)])
        telnyx.setDelay(.zero)

        // Down altogether: the same.
        telnyx.stop()
        let down = try await stack.call(.POST, "/sms", ["phone": "+15552019999", "message": "Nobody home"], token: token)
        #expect(down.status == 502 && down.body["details"]?["id"] != nil)
        #expect(try await setup.sms("status=failed").count == 2)

        // crm down when a text arrives: the webhook still answers at once, and the work is done later.
        stack.kill(.crm)
        let webhookStart = ContinuousClock.now
        let accepted = try await setup.deliver(Setup.inbound(from: "+15552011212", text: "Anyone there?"))
        #expect(accepted.status == 200 && ContinuousClock.now - webhookStart < .seconds(8))  // not waiting for crm
        try await Task.sleep(for: .seconds(1))
        try await stack.restart(.crm)
        try await setup.eventually("the lead once crm is back", seconds: 20) {
            try await stack.call(.GET, "/leads?source=sms", token: token).data["pagination"]?["total"] == 1
        }
    }
}
