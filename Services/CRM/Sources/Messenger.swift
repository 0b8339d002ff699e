import CloudGreetCore
import Foundation
import ServiceClients

/// Sends a lead an SMS or email through messaging's internal endpoints. `idempotencyKey` makes a
/// repeated request (a retry after a crash) return the first message instead of sending again.
struct Messenger: Sendable {
    let clients: InternalClient

    struct Sent: Sendable {
        let id: String
        let status: String
        let sentAt: Date
    }

    enum Method: String, Sendable { case sms, email }

    func send(_ method: Method, businessID: String, leadID: String, to: String, subject: String, text: String,
              idempotencyKey: String?, requestID: String) async throws -> Sent
    {
        var body: [String: JSONValue] = ["business_id": .string(businessID), "lead_id": .string(leadID), "to": .string(to)]
        if let idempotencyKey { body["idempotency_key"] = .string(idempotencyKey) }
        let path: String
        switch method {
        case .sms:
            path = "/internal/sms"
            body["message"] = .string(text)
        case .email:
            path = "/internal/emails"
            body["subject"] = .string(subject)
            body["content"] = .string(text)
        }
        let data = try await clients.call(.messaging, .POST, path, body: .object(body), as: .service(.crm),
                                          requestID: requestID, timeout: 60).data()
        // A partial answer is not a sent message.
        guard let id = data["id"]?.stringValue, let status = data["status"]?.stringValue else {
            throw APIError.unavailable("messaging answered without a message")
        }
        return Sent(id: id, status: status, sentAt: data["updated_at"]?.stringValue.flatMap(Timestamp.parse) ?? Date())
    }
}
