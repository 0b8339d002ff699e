import CloudGreetCore
import Foundation

/// A person erased from a business (`DELETE /leads/{id}`), as crm asks voice-agent and messaging to
/// erase their part (`PUT /internal/erasures/{id}`). The lead id reaches what was linked to the
/// lead; the phone and email reach what was recorded under them before it was. One type owns both
/// sides: the body the client sends and the reading of it on the server.
public struct Erasure: Sendable, Equatable {
    public var id: String
    public var businessID: String
    public var leadID: String
    public var phone: String?
    public var email: String?

    public init(id: String, businessID: String, leadID: String, phone: String?, email: String?) {
        self.id = id
        self.businessID = businessID
        self.leadID = leadID
        self.phone = phone
        self.email = email
    }

    public static func path(_ id: String) -> String { "/internal/erasures/" + InternalClient.pathSegment(id) }

    public var body: JSONValue {
        var body: [String: JSONValue] = ["business_id": .string(businessID), "lead_id": .string(leadID)]
        if let phone { body["phone"] = .string(phone) }
        if let email { body["email"] = .string(email) }
        return .object(body)
    }

    /// Reads the body of `PUT /internal/erasures/{id}`: 422 naming every bad or missing field. The
    /// phone and email are matched as stored, so they are taken as sent, not normalized again.
    public init(id: String, fields: FieldReader) throws {
        let business = fields.id("business_id", .business, required: true)
        let lead = fields.id("lead_id", .lead, required: true)
        let phone = fields.string("phone", maxLength: 40)
        let email = fields.string("email", maxLength: 320)
        if !ResourceID.isValid(id, kind: .erasure) { fields.fail("id", "is not an erasure id") }
        try fields.finish()
        self.init(
            id: id, businessID: try fields.present(business, "business_id"), leadID: try fields.present(lead, "lead_id"),
            phone: phone, email: email)
    }
}

/// Asking one service to erase its part of an `Erasure`. Erasing again is harmless, so the call is
/// a PUT that the internal client retries.
public struct ErasureClient: Sendable {
    public var erase: @Sendable (_ erasure: Erasure, _ requestID: String) async throws -> Void

    public init(erase: @escaping @Sendable (Erasure, String) async throws -> Void) {
        self.erase = erase
    }

    public static func live(_ client: InternalClient, of service: ServiceName, as caller: ServiceName) -> ErasureClient {
        ErasureClient { erasure, requestID in
            _ = try await client.data(
                service, .PUT, Erasure.path(erasure.id), body: erasure.body, as: .service(caller), requestID: requestID)
        }
    }
}
