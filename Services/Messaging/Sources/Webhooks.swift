import CloudGreetCore
import Curl
import Foundation
import Logging
import Persistence
import Providers
import ServiceClients
import ServiceKit

/// How outbound webhooks behave: how long a delivery is retried, when a failing endpoint is
/// disabled, and whether addresses are held to production's rules (`WebhookAddress`).
struct WebhookSettings: Sendable {
    var retryFor: TimeInterval
    var disableAfter: TimeInterval
    var retryBase: TimeInterval
    var timeout: TimeInterval
    var pollSeconds: Double
    var strictAddresses: Bool

    static let variables = [
        "WEBHOOK_RETRY_FOR_SECONDS", "WEBHOOK_DISABLE_AFTER_SECONDS", "WEBHOOK_RETRY_BASE_SECONDS", "WEBHOOK_TIMEOUT_SECONDS",
        "WEBHOOK_POLL_SECONDS",
    ]
}

extension WebhookSettings {
    init(_ config: ServiceConfig) throws {
        retryFor = try config.double("WEBHOOK_RETRY_FOR_SECONDS", default: 86_400, 1...2_592_000)
        disableAfter = try config.double("WEBHOOK_DISABLE_AFTER_SECONDS", default: 259_200, 1...31_536_000)
        retryBase = try config.double("WEBHOOK_RETRY_BASE_SECONDS", default: 30, 0.05...3600)
        timeout = try config.double("WEBHOOK_TIMEOUT_SECONDS", default: 10, 0.5...60)
        pollSeconds = try config.double("WEBHOOK_POLL_SECONDS", default: 1, 0.05...60)
        strictAddresses = !config.isDevelopment
    }
}

/// The businesses' outbound webhooks: endpoints, the events messaging is handed, and the worker
/// that delivers them, signed (`CloudGreetSignature`), through libcurl on a pool of its own so a
/// slow endpoint never holds up texts and emails.
struct Webhooks: Sendable {
    let store: WebhookStore
    let settings: WebhookSettings
    let curl: CurlClient
    let emails: EmailOutbox
    let businesses: BusinessDirectory
    let logger: Logger
    let metrics: ServiceMetrics

    var queue: LeasedQueue { store.deliveryQueue(retryBase: settings.retryBase) }

    /// Registers an endpoint; returns it with its secret, which is shown only now.
    func register(businessID: String, url: String, events: [String]) async throws -> WebhookEndpoint {
        do {
            _ = try await WebhookAddress.check(url, strict: settings.strictAddresses)
        } catch let refusal as WebhookAddress.Refusal {
            throw APIError.validation(field: "url", refusal.message)
        }
        let now = Date()
        let endpoint = WebhookEndpoint(
            id: ResourceID.make(.webhook), businessID: businessID, url: url, events: events, secret: "whsec_" + Secrets.randomToken(),
            status: .active, failingSince: nil, createdAt: now)
        try await store.insert(endpoint)
        return endpoint
    }

    /// Queues a `webhook.test` event for this endpoint alone.
    func sendTest(to endpoint: WebhookEndpoint) async throws -> BusinessEvent {
        let event = BusinessEvent(
            businessID: endpoint.businessID, type: BusinessEvent.test, resourceID: endpoint.id,
            data: ["webhook_id": .string(endpoint.id), "message": "A test event from CloudGreet"])
        try await store.db.transaction { [settings] db in
            _ = try await WebhookStore.keep(event, on: db)
            try await WebhookStore.queue(event, to: endpoint.id, retryFor: settings.retryFor, now: event.createdAt, on: db)
        }
        return event
    }

    /// Sends one of the business's events to this endpoint again, whatever became of it before.
    func redeliver(_ eventID: String, to endpoint: WebhookEndpoint) async throws -> Bool {
        guard let event = try await store.event(id: eventID, businessID: endpoint.businessID) else { return false }
        try await WebhookStore.queue(event, to: endpoint.id, retryFor: settings.retryFor, now: Date(), on: store.db)
        return true
    }

    // MARK: delivering

    /// One pass: claims due deliveries and makes them, each endpoint's at the same time.
    @discardableResult
    func tick(now: Date = Date()) async -> Int {
        await queue.work("webhook deliveries", now: now, limit: 50, concurrently: true, logger: logger) { claim in
            await deliver(claim, now: now)
        }
    }

    /// Makes one delivery; `now` (the pass's start) decides the backoff, giving up and disabling.
    private func deliver(_ claim: LeasedQueue.Claim, now: Date) async {
        do {
            guard let endpointID = claim.row.string("endpoint_id"), let businessID = claim.row.string("business_id"),
                let endpoint = try await store.endpoint(id: endpointID, businessID: businessID), endpoint.status == .active,
                let eventID = claim.row.string("event_id"), let event = try await store.event(id: eventID, businessID: businessID)
            else {
                try await queue.finish(claim.id, status: "failed", setting: [("error", "endpoint or event gone")])
                return
            }
            let (status, error, duration) = await attempt(event, to: endpoint)
            try await store.recordAttempt(
                endpointID: endpoint.id, event: event, attempt: claim.attempts, statusCode: status, duration: duration, error: error, now: now)
            let delivered = status.map { (200..<300).contains($0) } ?? false
            metrics.increment("webhook_deliveries_total", labels: ["outcome": delivered ? "delivered" : "failed"])
            if delivered {
                try await queue.finish(claim.id, status: "delivered", setting: [("delivered_at", SQLValue(now)), ("error", .null)])
                _ = try await store.recordOutcome(endpointID: endpoint.id, succeeded: true, now: now)
                return
            }
            let reason = error ?? "answered \(status ?? 0)"
            if let giveUp = claim.row.date("give_up_at"), now >= giveUp {
                try await queue.finish(claim.id, status: "failed", setting: [("error", .text(reason))])
            } else {
                try await queue.fail(claim, error: reason, now: now)
            }
            if let failing = try await store.recordOutcome(endpointID: endpoint.id, succeeded: false, now: now),
                let since = failing.failingSince, now.timeIntervalSince(since) >= settings.disableAfter
            {
                try await disable(failing, now: now)
            }
        } catch {
            // The database is down: the lease runs out and the delivery is claimed again.
            logger.error("webhook delivery could not be recorded", metadata: ["delivery_id": .string(claim.id)])
        }
    }

    /// One POST: the status (nil when there was no answer), what went wrong, and how long it took.
    private func attempt(_ event: BusinessEvent, to endpoint: WebhookEndpoint) async -> (Int?, String?, TimeInterval) {
        let started = ContinuousClock.now
        func elapsed() -> TimeInterval {
            let duration = ContinuousClock.now - started
            return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        let address: WebhookAddress
        do {
            address = try await WebhookAddress.check(endpoint.url, strict: settings.strictAddresses)
        } catch let refusal as WebhookAddress.Refusal {
            return (nil, "url \(refusal.message)", elapsed())
        } catch {
            return (nil, "could not check the url", elapsed())
        }
        let body = Array(event.deliveryBody.encoded())
        let request = CurlRequest(
            method: "POST", url: endpoint.url,
            headers: [
                ("Content-Type", "application/json"), ("User-Agent", "CloudGreet-Webhooks/1"),
                (CloudGreetSignature.header, CloudGreetSignature.sign(body, secret: endpoint.secret, at: Date())),
                ("CloudGreet-Event-Id", event.id), ("CloudGreet-Event-Type", event.type),
            ],
            body: body, connectTimeout: .seconds(min(5, settings.timeout)), timeout: .seconds(settings.timeout),
            // Only the status counts: an endpoint's long answer is not read past its start.
            pinnedAddresses: address.pinned, maxResponseBytes: 4096)
        do {
            let response = try await curl.perform(request)
            return (response.status, nil, elapsed())
        } catch let error as CurlError {
            return (nil, error.description, elapsed())
        } catch {
            return (nil, "could not send", elapsed())
        }
    }

    /// Disables an endpoint that has failed for `disableAfter`, and tells the business's admins.
    /// The admins are looked up first: with identity unreachable the endpoint stays active until a
    /// later failure disables it, so the admins are not left untold. (A business identity no longer
    /// knows has no one to tell.)
    private func disable(_ endpoint: WebhookEndpoint, now: Date) async throws {
        let business: BusinessInfo?
        do {
            business = try await businesses.business(endpoint.businessID, requestID: ResourceID.make(.request))
        } catch ServiceCallError.notFound {
            business = nil
        } catch {
            logger.warning("webhook endpoint not disabled yet: its admins could not be looked up", metadata: ["webhook_id": .string(endpoint.id)])
            return
        }
        guard try await store.disable(endpoint, now: now) else { return }
        logger.warning("webhook endpoint disabled", metadata: ["webhook_id": .string(endpoint.id)])
        guard let business else { return }
        for admin in business.adminEmails {
            let text = """
                Your CloudGreet webhook endpoint \(endpoint.url) (\(endpoint.id)) has failed every delivery since \
                \(Timestamp.format(endpoint.failingSince ?? now)) and has been disabled. Events are no longer sent to it. \
                Fix the endpoint, then register it again.
                """
            _ = try? await emails.send(
                OutgoingEmail(
                    businessID: endpoint.businessID, leadID: nil, to: admin, subject: "Webhook disabled for \(business.name)",
                    content: text, sensitive: false, idempotencyKey: "webhook-disabled-\(endpoint.id)-\(admin)"),
                logger: logger)
        }
    }
}
