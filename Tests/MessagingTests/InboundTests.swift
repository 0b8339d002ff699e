import CloudGreetCore
import Crypto
import Foundation
import Logging
import Providers
import ServiceKit
import TestSupport
import Testing

@testable import Messaging

@Suite struct KeywordTests {
    @Test(arguments: ["STOP", "stop", " Stop! ", "STOPALL", "unsubscribe", "Cancel", "END", "quit"])
    func optOuts(_ text: String) { #expect(Keyword.classify(text) == .optOut) }

    @Test func others() {
        #expect(Keyword.classify("START") == .optIn)
        #expect(Keyword.classify("unstop") == .optIn)
        #expect(Keyword.classify("help") == .help)
        #expect(Keyword.classify("Please stop by tomorrow") == .none)
        #expect(Keyword.classify("") == .none)
    }
}

@Suite struct TelnyxEventTests {
    @Test func readsTelnyxsRealBody() throws {
        let body: JSONValue = [
            "data": [
                "event_type": "message.received", "id": "evt-1",
                "payload": [
                    "id": "msg-1", "text": "Hi", "from": ["phone_number": "+15550001111"],
                    "to": [["phone_number": "+15550002222", "status": "webhook_delivered"]],
                ],
            ]
        ]
        let event = try #require(TelnyxEvent.parse(body, rawBody: Array(body.encoded())))
        #expect(
            event
                == TelnyxEvent(
                    id: "evt-1", type: "message.received", from: "+15550001111", to: "+15550002222", text: "Hi",
                    messageID: "msg-1", deliveryStatus: "webhook_delivered"))
    }

    @Test func readsTheSeedsBodyWithTheBodysHashAsId() throws {
        let raw = Array(#"{"event_type":"message.received","data":{"from":"+1","to":"+2","text":"x"}}"#.utf8)
        let event = try #require(TelnyxEvent.parse(try JSONValue.decode(raw), rawBody: raw))
        #expect(event.id == "sha256:" + Secrets.sha256Hex(String(decoding: raw, as: UTF8.self)))
        #expect(event.from == "+1" && event.to == "+2" && event.text == "x")
        #expect(TelnyxEvent.parse(["hello": "world"], rawBody: []) == nil)
    }

    @Test func deliveryStatuses() {
        func status(_ type: String, _ value: String?) -> SMSRecord.Status? {
            TelnyxEvent(id: "e", type: type, deliveryStatus: value).deliveredStatus
        }
        #expect(status("message.finalized", "delivered") == .delivered)
        #expect(status("message.finalized", "delivery_failed") == .failed)
        #expect(status("message.finalized", "sending_failed") == .failed)
        #expect(status("message.sent", nil) == .sent)
        #expect(status("message.finalized", "queued") == nil)
    }
}

@Suite struct SignatureTests {
    let key = Curve25519.Signing.PrivateKey()
    var verifier: TelnyxSignatureVerifier { TelnyxSignatureVerifier(base64PublicKey: key.publicKey.rawRepresentation.base64EncodedString())! }
    let body = Array(#"{"data":{"event_type":"message.received"}}"#.utf8)

    func sign(_ stamp: String, _ body: [UInt8]) throws -> String {
        try key.signature(for: Data("\(stamp)|".utf8) + Data(body)).base64EncodedString()
    }

    @Test func acceptsAFreshSignature() throws {
        let stamp = String(Int(Date().timeIntervalSince1970))
        #expect(throws: Never.self) { try verifier.verify(signature: try sign(stamp, body), timestamp: stamp, body: body) }
    }

    @Test func refusesEverythingElse() throws {
        let now = Int(Date().timeIntervalSince1970)
        let stamp = String(now)
        #expect(throws: TelnyxSignatureVerifier.Failure.missing) { try verifier.verify(signature: nil, timestamp: stamp, body: body) }
        #expect(throws: TelnyxSignatureVerifier.Failure.malformed) { try verifier.verify(signature: "%%", timestamp: stamp, body: body) }
        let old = String(now - 301)
        #expect(throws: TelnyxSignatureVerifier.Failure.stale) { try verifier.verify(signature: try sign(old, body), timestamp: old, body: body) }
        #expect(throws: TelnyxSignatureVerifier.Failure.mismatch) {
            try verifier.verify(signature: try sign(stamp, body), timestamp: stamp, body: body + [32])
        }
        #expect(throws: TelnyxSignatureVerifier.Failure.mismatch) {
            try verifier.verify(signature: try sign(stamp, body), timestamp: String(now - 1), body: body)
        }
        #expect(TelnyxSignatureVerifier(base64PublicKey: "not a key") == nil)
    }
}

/// STOP and START take effect with the stored text, once: the same text worked again (its event
/// retried) does not undo a later one.
@Suite struct OptOutTests {
    @Test func aKeywordTakesEffectWithItsTextOnce() async throws {
        for url in try await TestEnvironment.databaseURLs() {
            let db = try await WebhookTests.database(url)
            let store = SMSStore(db: db, events: EventOutbox(db: db, logger: Logger(label: "test")))
            let (business, phone) = ("business_1", "+15552014444")
            func optedOut() async throws -> Bool { try await store.isOptedOut(businessID: business, phone: phone) }
            func text(_ key: String, _ words: String, optingOut: Bool?) async throws {
                try await store.insertInbound(
                    businessID: business, leadID: nil, phone: phone, text: words, providerMessageID: nil, key: key, optingOut: optingOut)
            }
            try await text("in:1", "STOP", optingOut: true)
            #expect(try await optedOut())
            try await text("in:2", "START", optingOut: false)
            #expect(try await !optedOut())
            try await text("in:1", "STOP", optingOut: true)  // the first event, worked again
            #expect(try await !optedOut())
            try await text("in:3", "Hello", optingOut: nil)
            #expect(try await !optedOut())
            await db.close()
        }
    }
}
