import CloudGreetCore
import Foundation
import Persistence
import ServiceClients

/// crm's counts for analytics (`CRMClient.Stats`): a handful of aggregate queries, each answered
/// from a covering index, run side by side. "Today" and the months count only inside the period.
struct Statistics: Sendable {
    let leads: LeadStore
    let appointments: AppointmentStore

    func stats(_ query: StatsQuery) async throws -> CRMClient.Stats {
        let business = query.businessID
        async let leadCounts = leads.stats(businessID: business, period: query.period, today: query.narrowed(query.today))
        async let appointmentCounts = appointments.stats(businessID: business, period: query.period)
        async let today = appointments.count(businessID: business, scheduledIn: query.narrowed(query.today))
        async let thisMonth = appointments.revenueCents(businessID: business, scheduledIn: query.narrowed(query.thisMonth))
        async let lastMonth = appointments.revenueCents(businessID: business, scheduledIn: query.narrowed(query.lastMonth))
        let (groups, createdToday) = try await leadCounts
        return CRMClient.Stats(
            leads: try Self.bands(groups), leadsCreatedToday: createdToday,
            appointments: try await appointmentCounts.map {
                .init(status: try $0.required("status"), count: $0.int("count") ?? 0, valueCents: $0.int("value_cents") ?? 0)
            },
            appointmentsToday: try await today, revenueThisMonthCents: try await thisMonth, revenueLastMonthCents: try await lastMonth)
    }

    /// Rows counted per status, source and score folded into the five score bands (0-19 is band 0,
    /// 80-100 band 4; unscored leads have none).
    static func bands(_ rows: [SQLRow]) throws -> [CRMClient.Stats.LeadGroup] {
        var groups: [String: CRMClient.Stats.LeadGroup] = [:]
        for row in rows {
            let status: String = try row.required("status")
            let source: String = try row.required("source")
            let score = row.int("score")
            let count = row.int("count") ?? 0
            let band = score.map { min(max($0, 0) / 20, 4) }
            let key = "\(status)|\(source)|\(band ?? -1)"
            var group = groups[key] ?? .init(status: status, source: source, band: band, count: 0, scoreSum: 0)
            group.count += count
            group.scoreSum += (score ?? 0) * count
            groups[key] = group
        }
        return groups.keys.sorted().compactMap { groups[$0] }
    }
}
