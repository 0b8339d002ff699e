import CloudGreetCore
import Foundation
import Logging
import Persistence
import ServiceClients
import ServiceKit

/// The work of a Telnyx messaging webhook, done after it was answered (ServiceKit's `WebhookInbox`
/// stores, claims and retries). Every step is idempotent, keyed by the event id, so a retry never
/// stores or sends twice.
struct TelnyxEvents: Sendable {
    private let sms: SMSStore
    private let outbox: SMSOutbox
    private let businesses: BusinessDirectory
    private let crm: CRMClient
    private let logger: Logger

    init(sms: SMSStore, outbox: SMSOutbox, businesses: BusinessDirectory, crm: CRMClient, logger: Logger) {
        self.sms = sms
        self.outbox = outbox
        self.businesses = businesses
        self.crm = crm
        self.logger = logger
    }

    func handle(_ event: TelnyxEvent) async throws {
        let requestID = ResourceID.make(.request)
        switch event.type {
        case "message.received": try await received(event, requestID: requestID)
        case "message.sent", "message.finalized": try await delivery(event)
        default: break  // other event types are stored and acknowledged, nothing more
        }
    }

    private func received(_ event: TelnyxEvent, requestID: String) async throws {
        guard let to = event.to.flatMap({ Contact.normalizePhone($0) }), let from = event.from.flatMap({ Contact.normalizePhone($0) })
        else { return }
        guard let business = try await businesses.business(phoneNumber: to, requestID: requestID) else {
            logger.notice("inbound text for a number no business owns", metadata: ["to": .string(Contact.maskPhone(to))])
            return
        }
        let leadID = try await crm.upsertLead(business.id, from, "sms", requestID).lead.id
        let text = event.text ?? ""
        let keyword = Keyword.classify(text)
        try await sms.insertInbound(
            businessID: business.id, leadID: leadID, phone: from, text: text,
            providerMessageID: event.messageID, key: "in:" + event.id,
            optingOut: keyword == .optOut ? true : keyword == .optIn ? false : nil)
        let reply: String?
        switch keyword {
        case .optOut, .optIn:
            reply = nil
        case .help:
            reply = Keyword.helpReply(businessName: business.name)
        case .none:
            reply = business.settings["sms_auto_reply"]?.stringValue
        }
        guard let reply, !(try await sms.isOptedOut(businessID: business.id, phone: from)) else { return }
        // A failed reply is kept as a failed message; the event itself is done.
        _ = try await outbox.send(
            OutgoingSMS(
                businessID: business.id, leadID: leadID, to: from, text: reply,
                idempotencyKey: "reply:" + event.id),
            requestID: requestID, logger: logger)
    }

    private func delivery(_ event: TelnyxEvent) async throws {
        guard let messageID = event.messageID, let status = event.deliveredStatus else { return }
        // The event may outrun our own record of Telnyx's id: then this throws and is retried.
        guard try await sms.updateStatus(providerMessageID: messageID, to: status) else {
            throw MessageNotYetKnown()
        }
    }

    struct MessageNotYetKnown: Error {}
}
