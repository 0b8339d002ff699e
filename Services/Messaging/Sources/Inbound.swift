import CloudGreetCore
import Foundation

/// What an inbound text asks for (CTIA keywords; the whole message, any case, trimmed).
enum Keyword: Equatable {
    case optOut, optIn, help, none

    static func classify(_ text: String) -> Keyword {
        switch text.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters)).uppercased() {
        case "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT": .optOut
        case "START", "UNSTOP": .optIn
        case "HELP": .help
        default: .none
        }
    }

    static func helpReply(businessName: String) -> String {
        "\(businessName): you are getting texts about your requests and appointments. Reply STOP to stop, START to resume."
    }
}

/// A Telnyx messaging webhook, from either body the contract accepts: Telnyx's real one
/// (`data.event_type`, `data.id`, `data.payload...`) or the seed's (`event_type`, `data.from/to/text`,
/// which has no event id: the hash of the raw body stands in for it, so a redelivery is still seen).
struct TelnyxEvent: Equatable, Sendable {
    var id: String
    var type: String
    var from: String?
    var to: String?
    var text: String?
    /// Telnyx's message id (`data.payload.id`), for delivery events.
    var messageID: String?
    /// The recipient's status in delivery events (`delivered`, `delivery_failed`, ...).
    var deliveryStatus: String?

    static func parse(_ json: JSONValue, rawBody: [UInt8]) -> TelnyxEvent? {
        let event = read(json, rawBody: rawBody)
        // Nothing Telnyx sends has a NUL, and PostgreSQL could not store one.
        let texts: [String?] = [event?.id, event?.from, event?.to, event?.text, event?.messageID, event?.deliveryStatus]
        guard let event, isEventType(event.type), event.id.utf8.count <= 200, !texts.contains(where: { $0?.contains("\u{0}") == true })
        else { return nil }
        return event
    }

    /// Telnyx's event types are dotted lower-case words (`message.received`, `message.finalized`).
    static func isEventType(_ type: String) -> Bool {
        let parts = type.split(separator: ".", omittingEmptySubsequences: false)
        return type.utf8.count <= 100 && parts.count >= 2
            && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || $0 == 95 } }
    }

    private static func read(_ json: JSONValue, rawBody: [UInt8]) -> TelnyxEvent? {
        if let data = json["data"], let type = data["event_type"]?.stringValue, let payload = data["payload"]?.objectValue.map(JSONValue.object) {
            let recipient = payload["to"]?.arrayValue?.first ?? payload["to"]
            return TelnyxEvent(
                id: data["id"]?.stringValue ?? "sha256:" + Secrets.sha256Hex(String(decoding: rawBody, as: UTF8.self)),
                type: type, from: payload["from"]?["phone_number"]?.stringValue ?? payload["from"]?.stringValue,
                to: recipient?["phone_number"]?.stringValue ?? recipient?.stringValue, text: payload["text"]?.stringValue,
                messageID: payload["id"]?.stringValue, deliveryStatus: recipient?["status"]?.stringValue)
        }
        if let type = json["event_type"]?.stringValue, let data = json["data"]?.objectValue.map(JSONValue.object) {
            return TelnyxEvent(
                id: "sha256:" + Secrets.sha256Hex(String(decoding: rawBody, as: UTF8.self)), type: type,
                from: data["from"]?.stringValue, to: data["to"]?.stringValue, text: data["text"]?.stringValue,
                messageID: data["id"]?.stringValue ?? data["message_id"]?.stringValue, deliveryStatus: data["status"]?.stringValue)
        }
        return nil
    }

    /// Our status for a delivery event, or nil when it changes nothing.
    var deliveredStatus: SMSRecord.Status? {
        switch deliveryStatus {
        case "delivered"?: .delivered
        case "sending_failed"?, "delivery_failed"?, "delivery_unconfirmed"?, "failed"?: .failed
        case "sent"?: .sent
        default: type == "message.sent" ? .sent : nil
        }
    }
}
