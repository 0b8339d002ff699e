import CloudGreetCore
import Foundation

/// Something that happened to a business's data, for its webhooks: recorded by the service that
/// made the change (in the change's transaction, `EventOutbox`), then handed to messaging, which
/// delivers it (`POST /internal/events`). One type owns both sides of that call.
public struct BusinessEvent: Sendable, Equatable {
    /// The event types an endpoint may subscribe to.
    public static let types = [
        "lead.created", "lead.updated", "appointment.created", "appointment.updated", "appointment.cancelled",
        "call.completed", "call.missed", "sms.received", "sms.status",
    ]
    /// Sent by `POST /webhooks/{id}/test` only.
    public static let test = "webhook.test"

    public var id: String
    public var businessID: String
    public var type: String
    /// The id of the resource in `data`: deliveries about one resource keep their order.
    public var resourceID: String
    public var createdAt: Date
    /// The resource after the change, as the API shows it.
    public var data: JSONValue

    public init(
        id: String = ResourceID.make(.event), businessID: String, type: String, resourceID: String, createdAt: Date = Date(),
        data: JSONValue
    ) {
        self.id = id
        self.businessID = businessID
        self.type = type
        self.resourceID = resourceID
        self.createdAt = createdAt
        self.data = data
    }

    /// The body a webhook endpoint receives.
    public var deliveryBody: JSONValue {
        ["id": .string(id), "type": .string(type), "created_at": .string(Timestamp.format(createdAt)), "data": data]
    }

    /// How the event travels between services: the delivery body plus whose and about what.
    public var json: JSONValue {
        deliveryBody.merging(["business_id": .string(businessID), "resource_id": .string(resourceID)])
    }

    public init(json: JSONValue) throws {
        guard let id = json["id"]?.stringValue, ResourceID.isValid(id, kind: .event),
            let business = json["business_id"]?.stringValue, ResourceID.isValid(business, kind: .business),
            let type = json["type"]?.stringValue, Self.types.contains(type),
            let resource = json["resource_id"]?.stringValue, !resource.isEmpty, resource.utf8.count <= 64,
            let created = json["created_at"]?.stringValue.flatMap(Timestamp.parse), let data = json["data"], case .object = data
        else { throw APIError.validation(field: "events", "holds an event that is not one") }
        self.init(id: id, businessID: business, type: type, resourceID: resource, createdAt: created, data: data)
    }
}

/// Handing recorded events to messaging, which keeps and delivers them. Messaging keeps each event
/// once by its id, so a batch sent again (a retry after a lost answer) changes nothing.
public struct EventsClient: Sendable {
    public var publish: @Sendable (_ events: [BusinessEvent], _ requestID: String) async throws -> Void

    public init(publish: @escaping @Sendable ([BusinessEvent], String) async throws -> Void) {
        self.publish = publish
    }

    public static func live(_ client: InternalClient, as service: ServiceName) -> EventsClient {
        EventsClient { events, requestID in
            guard let first = events.first, let last = events.last else { return }
            _ = try await client.data(
                .messaging, .POST, "/internal/events", body: ["events": .array(events.map(\.json))], as: .service(service),
                requestID: requestID, timeout: 10, idempotencyKey: "events-\(first.id)-\(last.id)-\(events.count)")
        }
    }
}
