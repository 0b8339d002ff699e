import CloudGreetCore
import Foundation
import Hummingbird
import ServiceClients
import ServiceKit

/// The businesses' outbound webhooks (`/webhooks*`, admins only), and `/internal/events`, where the
/// other services hand over the events they recorded.
struct WebhookRoutes: Sendable {
    let webhooks: Webhooks
    let config: ServiceConfig

    func register(on router: Router<AppContext>) {
        let admin = router.group().add(middleware: TenantMiddleware()).add(middleware: RoleMiddleware(.admin))
        admin.get("/webhooks", use: list)
        admin.post("/webhooks", use: create)
        admin.delete("/webhooks/{id}", use: delete)
        admin.post("/webhooks/{id}/test", use: test)
        admin.get("/webhooks/{id}/deliveries", use: deliveries)
        admin.post("/webhooks/{id}/deliveries/{event_id}/redeliver", use: redeliver)
        router.group().add(middleware: ServiceOnlyMiddleware()).post("/internal/events", use: intake)
    }

    @Sendable func list(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let listed = try await webhooks.store.endpoints(businessID: businessID, page: try Page(query: request.query))
        return .envelope(listed.map(\.json).json("webhooks"), context: context)
    }

    @Sendable func create(_ request: Request, context: AppContext) async throws -> Response {
        let businessID = try context.scoped().businessID
        let fields = try await request.fields(context: context, maxBytes: config.maxBodyBytes, businessID: businessID)
        let url = fields.string("url", required: true, maxLength: 2048)
        var events: [String] = []
        switch fields.object["events"] {
        case .array(let values)? where !values.isEmpty && values.count <= BusinessEvent.types.count * 2:
            for value in values {
                guard let type = value.stringValue, BusinessEvent.types.contains(type) else {
                    fields.fail("events", "holds an unknown event; known: \(BusinessEvent.types.joined(separator: ", "))")
                    break
                }
                if !events.contains(type) { events.append(type) }
            }
        case nil, .null?: fields.fail("events", "is required")
        default: fields.fail("events", "must be a non-empty array of event types")
        }
        try fields.finish()
        let endpoint = try await webhooks.register(businessID: businessID, url: try fields.present(url, "url"), events: events)
        return .envelope(
            endpoint.json.merging(["secret": .string(endpoint.secret)]), status: .created, message: "Webhook created", context: context)
    }

    private func ownEndpoint(_ context: AppContext) async throws -> WebhookEndpoint {
        let businessID = try context.scoped().businessID
        let id = try context.parameters.require("id", context: context)
        guard let endpoint = try await webhooks.store.endpoint(id: id, businessID: businessID) else {
            throw APIError.notFound(.resourceNotFound, "Webhook")
        }
        return endpoint
    }

    @Sendable func delete(_ request: Request, context: AppContext) async throws -> Response {
        let endpoint = try await ownEndpoint(context)
        guard try await webhooks.store.delete(id: endpoint.id, businessID: endpoint.businessID) else {
            throw APIError.notFound(.resourceNotFound, "Webhook")
        }
        return .envelope(["id": .string(endpoint.id), "deleted": true], message: "Webhook deleted", context: context)
    }

    @Sendable func test(_ request: Request, context: AppContext) async throws -> Response {
        let event = try await webhooks.sendTest(to: try await ownEndpoint(context))
        return .envelope(["event_id": .string(event.id), "queued": true], status: .accepted, message: "Test event queued", context: context)
    }

    @Sendable func deliveries(_ request: Request, context: AppContext) async throws -> Response {
        let endpoint = try await ownEndpoint(context)
        let listed = try await webhooks.store.attempts(endpointID: endpoint.id, page: try Page(query: request.query))
        return .envelope(listed.json("deliveries"), context: context)
    }

    @Sendable func redeliver(_ request: Request, context: AppContext) async throws -> Response {
        let endpoint = try await ownEndpoint(context)
        let eventID = try context.parameters.require("event_id", context: context)
        guard try await webhooks.redeliver(eventID, to: endpoint) else { throw APIError.notFound(.resourceNotFound, "Event") }
        return .envelope(["event_id": .string(eventID), "queued": true], status: .accepted, message: "Event queued", context: context)
    }

    /// Events recorded by crm, voice-agent or messaging itself (`BusinessEvent`), kept once each.
    @Sendable func intake(_ request: Request, context: AppContext) async throws -> Response {
        let body = try await request.jsonBody(context: context, maxBytes: 16 * config.maxBodyBytes)
        guard let values = body["events"]?.arrayValue, values.count <= 1000 else {
            throw APIError.validation(field: "events", "must be an array of at most 1000 events")
        }
        let events = try values.map(BusinessEvent.init(json:))
        try await webhooks.store.intake(events, retryFor: webhooks.settings.retryFor)
        return .envelope(["received": JSONValue(events.count)], context: context)
    }
}
