import CloudGreetCore
import Foundation
import ServiceClients

/// analytics' application layer: asks the owners for their counts at the same time, keeps each
/// answer for at most `ANALYTICS_CACHE_SECONDS`, and composes the reports. A missing part is a 503
/// naming it rather than zeros that look true; the parts that did answer stay cached.
struct Reports: Sendable {
    let businesses: BusinessDirectory
    let crm: CRMClient
    let voice: VoiceAgentClient
    let messaging: MessagingClient
    /// nil when caching is off (`ANALYTICS_CACHE_SECONDS=0`).
    let caches: Caches?

    struct Caches: Sendable {
        let crm: TTLCache<StatsQuery, CRMClient.Stats>
        let calls: TTLCache<StatsQuery, CallStats>
        let messages: TTLCache<StatsQuery, MessageStats>

        init(seconds: Double) {
            crm = TTLCache(ttl: seconds, capacity: 2_000)
            calls = TTLCache(ttl: seconds, capacity: 2_000)
            messages = TTLCache(ttl: seconds, capacity: 2_000)
        }
    }

    func overview(businessID: String, period: Figures.Period, requestID: String, now: Date = Date()) async throws -> JSONValue {
        let (query, zone) = try await query(businessID: businessID, period: period, requestID: requestID, now: now)
        async let crmStats = cached(caches?.crm, query) { try await crm.stats(query, requestID) }
        async let callStats = cached(caches?.calls, query) { try await voice.stats(query, requestID) }
        async let messageStats = cached(caches?.messages, query) { try await messaging.stats(query, requestID) }
        let (leadsAndAppointments, calls, messages) = await (crmStats, callStats, messageStats)
        guard let leadsAndAppointments, let calls, let messages else {
            throw Self.missing([leadsAndAppointments == nil ? "crm" : nil, calls == nil ? "voice-agent" : nil, messages == nil ? "messaging" : nil])
        }
        return Figures.overview(crm: leadsAndAppointments, calls: calls, messages: messages)
            .merging(["period": Figures.describe(query, timeZone: zone)])
    }

    func scored(businessID: String, period: Figures.Period, requestID: String, now: Date = Date()) async throws -> JSONValue {
        let (query, zone) = try await query(businessID: businessID, period: period, requestID: requestID, now: now)
        guard let stats = await cached(caches?.crm, query, { try await crm.stats(query, requestID) }) else { throw Self.missing(["crm"]) }
        return Figures.scored(stats).merging(["period": Figures.describe(query, timeZone: zone)])
    }

    /// The business's calendar comes from identity; without it no "today" can be right.
    private func query(businessID: String, period: Figures.Period, requestID: String, now: Date) async throws -> (StatsQuery, TimeZone) {
        let business: BusinessInfo
        do {
            business = try await businesses.business(businessID, requestID: requestID)
        } catch {
            throw Self.missing(["identity"])
        }
        var period = period
        period.timeZone = business.timeZone
        return (Figures.query(businessID: businessID, timeZone: business.timeZone, now: now, period: try period.range()), business.timeZone)
    }

    private func cached<T: Sendable>(
        _ cache: TTLCache<StatsQuery, T>?, _ query: StatsQuery, _ load: @Sendable () async throws -> T
    ) async
        -> T?
    {
        if let hit = cache?.value(query) { return hit }
        guard let value = try? await load() else { return nil }
        cache?.store(query, value)
        return value
    }

    static func missing(_ parts: [String?]) -> APIError {
        let names = parts.compactMap { $0 }
        return APIError(
            503, .serviceUnavailable, "Figures from \(names.joined(separator: ", ")) are unavailable; try again shortly",
            details: ["unavailable": .array(names.map(JSONValue.string))])
    }
}
