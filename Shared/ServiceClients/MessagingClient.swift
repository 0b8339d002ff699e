import CloudGreetCore
import Foundation

/// Sending through messaging (`/internal/sms`, `/internal/emails`), as typed calls. With an
/// idempotency key a repeated call returns the first message instead of sending again, and the
/// internal client may retry it.
public struct MessagingClient: Sendable {
    public struct SMS: Sendable, Equatable {
        public var businessID: String
        public var leadID: String?
        public var to: String
        public var text: String
        public var idempotencyKey: String?

        public init(businessID: String, leadID: String? = nil, to: String, text: String, idempotencyKey: String? = nil) {
            self.businessID = businessID
            self.leadID = leadID
            self.to = to
            self.text = text
            self.idempotencyKey = idempotencyKey
        }
    }

    public struct Email: Sendable, Equatable {
        public var businessID: String?
        public var leadID: String?
        public var to: String
        public var subject: String
        public var content: String
        /// Content holding a secret (a reset link): sent, never stored.
        public var sensitive: Bool
        public var idempotencyKey: String?

        public init(
            businessID: String? = nil, leadID: String? = nil, to: String, subject: String, content: String,
            sensitive: Bool = false, idempotencyKey: String? = nil
        ) {
            self.businessID = businessID
            self.leadID = leadID
            self.to = to
            self.subject = subject
            self.content = content
            self.sensitive = sensitive
            self.idempotencyKey = idempotencyKey
        }
    }

    public struct Sent: Sendable, Equatable {
        public let id: String
        public let status: String
        public let sentAt: Date

        public init(id: String, status: String, sentAt: Date) {
            self.id = id
            self.status = status
            self.sentAt = sentAt
        }
    }

    public var sendSMS: @Sendable (_ sms: SMS, _ requestID: String) async throws -> Sent
    public var sendEmail: @Sendable (_ email: Email, _ requestID: String) async throws -> Sent
    public var stats: @Sendable (_ query: StatsQuery, _ requestID: String) async throws -> MessageStats

    public init(
        sendSMS: @escaping @Sendable (SMS, String) async throws -> Sent = { _, _ in throw ServiceCallError.unavailable(.messaging) },
        sendEmail: @escaping @Sendable (Email, String) async throws -> Sent = { _, _ in throw ServiceCallError.unavailable(.messaging) },
        stats: @escaping @Sendable (StatsQuery, String) async throws -> MessageStats = { _, _ in
            throw ServiceCallError.unavailable(.messaging)
        }
    ) {
        self.sendSMS = sendSMS
        self.sendEmail = sendEmail
        self.stats = stats
    }

    /// Sending can wait on Telnyx's or SMTP's retries, hence the long timeout.
    public static func live(_ client: InternalClient, as service: ServiceName) -> MessagingClient {
        @Sendable func send(_ path: String, _ body: [String: JSONValue], key: String?, requestID: String) async throws -> Sent {
            var body = body
            if let key { body["idempotency_key"] = .string(key) }
            let data = try await client.data(
                .messaging, .POST, path, body: .object(body), as: .service(service),
                requestID: requestID, timeout: 60, idempotencyKey: key)
            guard let id = data["id"]?.stringValue, let status = data["status"]?.stringValue else {
                throw ServiceCallError.malformed(.messaging)
            }
            return Sent(id: id, status: status, sentAt: data["updated_at"]?.stringValue.flatMap(Timestamp.parse) ?? Date())
        }
        return MessagingClient(
            sendSMS: { sms, requestID in
                var body: [String: JSONValue] = [
                    "business_id": .string(sms.businessID), "to": .string(sms.to),
                    "message": .string(sms.text),
                ]
                if let lead = sms.leadID { body["lead_id"] = .string(lead) }
                return try await send("/internal/sms", body, key: sms.idempotencyKey, requestID: requestID)
            },
            sendEmail: { email, requestID in
                var body: [String: JSONValue] = [
                    "to": .string(email.to), "subject": .string(email.subject),
                    "content": .string(email.content), "sensitive": .bool(email.sensitive),
                ]
                if let business = email.businessID { body["business_id"] = .string(business) }
                if let lead = email.leadID { body["lead_id"] = .string(lead) }
                return try await send("/internal/emails", body, key: email.idempotencyKey, requestID: requestID)
            },
            stats: { query, requestID in
                try await query.fetch(MessageStats.self, from: .messaging, client, as: service, requestID: requestID)
            })
    }
}
