import CloudGreetCore

/// What other services ask crm, as typed calls.
public struct CRMClient: Sendable {
    /// A lead as other services need it.
    public struct Lead: Sendable, Equatable {
        public let id: String
        public let businessID: String
        public let name: String?
        public let phone: String?
        public let email: String?

        public init(id: String, businessID: String, name: String? = nil, phone: String? = nil, email: String? = nil) {
            self.id = id
            self.businessID = businessID
            self.name = name
            self.phone = phone
            self.email = email
        }

        init(_ json: JSONValue?) throws {
            guard let json, let id = json["id"]?.stringValue, let business = json["business_id"]?.stringValue else {
                throw ServiceCallError.malformed(.crm)
            }
            self.init(
                id: id, businessID: business, name: json["name"]?.stringValue, phone: json["phone"]?.stringValue,
                email: json["email"]?.stringValue)
        }
    }

    /// The lead with this phone in the business, created (with `source`) when there is none.
    public var upsertLead:
        @Sendable (_ businessID: String, _ phone: String, _ source: String, _ requestID: String) async throws
            -> (lead: Lead, created: Bool)
    /// A lead, asked on behalf of `caller`, so that crm's tenancy applies (another business's is not found).
    public var lead: @Sendable (_ id: String, _ caller: Caller, _ requestID: String) async throws -> Lead

    public init(
        upsertLead: @escaping @Sendable (String, String, String, String) async throws -> (lead: Lead, created: Bool),
        lead: @escaping @Sendable (String, Caller, String) async throws -> Lead
    ) {
        self.upsertLead = upsertLead
        self.lead = lead
    }

    public static func live(_ client: InternalClient, as service: ServiceName) -> CRMClient {
        CRMClient(
            upsertLead: { businessID, phone, source, requestID in
                // Safe to retry: a second upsert finds the lead the first one made.
                let data = try await client.data(
                    .crm, .POST, "/internal/leads/upsert",
                    body: ["business_id": .string(businessID), "phone": .string(phone), "source": .string(source)],
                    as: .service(service), requestID: requestID, idempotencyKey: "upsert:\(businessID):\(phone)")
                guard let created = data["created"]?.boolValue else { throw ServiceCallError.malformed(.crm) }
                return (try Lead(data["lead"]), created)
            },
            lead: { id, caller, requestID in
                try Lead(
                    try await client.data(
                        .crm, .GET, "/leads/" + InternalClient.pathSegment(id), as: caller,
                        requestID: requestID))
            })
    }
}
