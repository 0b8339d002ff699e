import CloudGreetCore
import Foundation
import ServiceClients

/// A reminder to a lead by SMS or email, through messaging. `idempotencyKey` makes a repeated
/// request (a retry after a crash) return the first message instead of sending again.
struct Messenger: Sendable {
    let messaging: MessagingClient

    enum Method: String, Sendable { case sms, email }

    func send(
        _ method: Method, businessID: String, leadID: String, to: String, subject: String, text: String,
        idempotencyKey: String?, requestID: String
    ) async throws -> MessagingClient.Sent {
        switch method {
        case .sms:
            try await messaging.sendSMS(
                .init(
                    businessID: businessID, leadID: leadID, to: to, text: text,
                    idempotencyKey: idempotencyKey), requestID)
        case .email:
            try await messaging.sendEmail(
                .init(
                    businessID: businessID, leadID: leadID, to: to, subject: subject, content: text,
                    idempotencyKey: idempotencyKey), requestID)
        }
    }
}
