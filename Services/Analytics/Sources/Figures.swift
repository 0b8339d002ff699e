import CloudGreetCore
import Foundation
import ServiceClients

/// The reports, composed from the owners' counts: plain arithmetic, no HTTP or SQL.
enum Figures {
    static let leadSources = ["call", "sms", "email", "web"]
    static let leadStatuses = ["new", "qualified", "unqualified", "converted"]
    static let bands = ["0-19", "20-39", "40-59", "60-79", "80-100"]

    /// The business's today and this and last calendar month, in its time zone, around `now`.
    static func query(businessID: String, timeZone: TimeZone, now: Date, period: Range<Date>?) -> StatsQuery {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let dayStart = calendar.startOfDay(for: now)
        let dayEnd = calendar.date(byAdding: .day, value: 1, to: dayStart) ?? dayStart.addingTimeInterval(86400)
        let month = calendar.dateInterval(of: .month, for: now) ?? DateInterval(start: dayStart, end: dayEnd)
        let previous = calendar.dateInterval(of: .month, for: month.start.addingTimeInterval(-1)) ?? month
        return StatsQuery(
            businessID: businessID, period: period, today: dayStart..<dayEnd, thisMonth: month.start..<month.end,
            lastMonth: previous.start..<previous.end)
    }

    static func overview(crm: CRMClient.Stats, calls: CallStats, messages: MessageStats) -> JSONValue {
        func leads(_ status: String) -> Int { crm.leads.filter { $0.status == status }.reduce(0) { $0 + $1.count } }
        func appointments(_ status: String) -> Int { crm.appointments.first { $0.status == status }?.count ?? 0 }
        let revenueCents = crm.appointments.first { $0.status == "completed" }?.valueCents ?? 0
        let growth: JSONValue =
            crm.revenueLastMonthCents == 0
            ? .null : .number(ratio(crm.revenueThisMonthCents - crm.revenueLastMonthCents, crm.revenueLastMonthCents))
        return [
            "leads": [
                "total": JSONValue(crm.leads.reduce(0) { $0 + $1.count }), "new_today": JSONValue(crm.leadsCreatedToday),
                "qualified": JSONValue(leads("qualified")), "converted": JSONValue(leads("converted")),
            ],
            "appointments": [
                "total": JSONValue(crm.appointments.reduce(0) { $0 + $1.count }), "scheduled_today": JSONValue(crm.appointmentsToday),
                "completed": JSONValue(appointments("completed")), "cancelled": JSONValue(appointments("cancelled")),
            ],
            "calls": [
                "total": JSONValue(calls.total), "today": JSONValue(calls.today),
                "average_duration": JSONValue(calls.completed == 0 ? 0 : Int((Double(calls.completedSeconds) / Double(calls.completed)).rounded())),
                "success_rate": .number(calls.total == 0 ? 0 : ratio(calls.completed, calls.total)),
            ],
            "revenue": [
                "total": .number(Double(revenueCents) / 100), "this_month": .number(Double(crm.revenueThisMonthCents) / 100),
                "growth_rate": growth,
            ],
            "messages": [
                "sms_outbound": JSONValue(messages.smsOutbound), "sms_inbound": JSONValue(messages.smsInbound),
                "emails": JSONValue(messages.emails),
            ],
        ]
    }

    static func scored(_ crm: CRMClient.Stats) -> JSONValue {
        let groups = crm.leads
        let total = groups.reduce(0) { $0 + $1.count }
        let scored = groups.filter { $0.band != nil }
        func summary(_ matching: [CRMClient.Stats.LeadGroup]) -> JSONValue {
            let scoredOnes = matching.filter { $0.band != nil }
            let count = scoredOnes.reduce(0) { $0 + $1.count }
            return [
                "count": JSONValue(matching.reduce(0) { $0 + $1.count }),
                "average_score": count == 0 ? .null : .number(average(scoredOnes.reduce(0) { $0 + $1.scoreSum }, count)),
            ]
        }
        let scoredCount = scored.reduce(0) { $0 + $1.count }
        let converted = groups.filter { $0.status == "converted" }.reduce(0) { $0 + $1.count }
        return [
            "total_leads": JSONValue(total),
            "total_scored": JSONValue(scoredCount),
            "average_score": .number(scoredCount == 0 ? 0 : average(scored.reduce(0) { $0 + $1.scoreSum }, scoredCount)),
            "distribution": .object(
                Dictionary(
                    uniqueKeysWithValues: bands.enumerated().map { band, label in
                        (label, JSONValue(scored.filter { $0.band == band }.reduce(0) { $0 + $1.count }))
                    })),
            "by_source": .object(
                Dictionary(uniqueKeysWithValues: leadSources.map { source in (source, summary(groups.filter { $0.source == source })) })),
            "by_status": .object(
                Dictionary(uniqueKeysWithValues: leadStatuses.map { status in (status, summary(groups.filter { $0.status == status })) })),
            "conversion_rate": .number(total == 0 ? 0 : ratio(converted, total)),
        ]
    }

    /// A ratio to four decimals (0.8571), as rates are shown.
    static func ratio(_ part: Int, _ whole: Int) -> Double { (Double(part) / Double(whole) * 10_000).rounded() / 10_000 }

    /// An average score to two decimals.
    static func average(_ sum: Int, _ count: Int) -> Double { (Double(sum) / Double(count) * 100).rounded() / 100 }
}

extension Figures {
    /// `start_date`/`end_date` as the client sent them. An instant is taken as is; a bare date
    /// (`2026-11-30`) is a day in the business's time zone: the start of that day for `start_date`,
    /// the end of it (the day included) for `end_date`.
    struct Period: Sendable {
        enum Bound: Sendable, Equatable {
            case instant(Date)
            case day(year: Int, month: Int, day: Int)
        }

        var start: Bound?
        var end: Bound?
        var timeZone: TimeZone = .gmt

        /// Reads both parameters, reporting each bad one on the reader.
        init(_ fields: FieldReader) {
            start = Self.bound(fields, "start_date")
            end = Self.bound(fields, "end_date")
        }

        static func bound(_ fields: FieldReader, _ key: String) -> Bound? {
            guard let text = fields.string(key, maxLength: 64) else { return nil }
            let parts = text.split(separator: "-").compactMap { Int($0) }
            if text.count == 10, parts.count == 3, Timestamp.parse(text) != nil {
                return .day(year: parts[0], month: parts[1], day: parts[2])
            }
            guard let date = Timestamp.parse(text) else {
                fields.fail(key, "must be an ISO 8601 date or date-time")
                return nil
            }
            return .instant(date)
        }

        /// The half-open range, or nil for all time; 422 when the end comes before the start.
        func range() throws -> Range<Date>? {
            guard start != nil || end != nil else { return nil }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = timeZone
            func date(_ bound: Bound?, dayEnd: Bool) -> Date? {
                switch bound {
                case .instant(let date)?: return date
                case .day(let year, let month, let day)?:
                    let midnight = calendar.date(from: DateComponents(year: year, month: month, day: day))
                    return dayEnd ? midnight.flatMap { calendar.date(byAdding: .day, value: 1, to: $0) } : midnight
                case nil: return nil
                }
            }
            let from = date(start, dayEnd: false) ?? .distantPast
            let to = date(end, dayEnd: true) ?? .distantFuture
            // A bare end date is a whole day, so it comes before the start when the day ends by then.
            let endIsDay = if case .day? = end { true } else { false }
            guard endIsDay ? from < to : from <= to else {
                throw APIError.validation(field: "end_date", "must not come before start_date")
            }
            return from..<to
        }
    }

    /// What the figures cover, so a client can tell "today" and "this month" apart by zone.
    static func describe(_ query: StatsQuery, timeZone: TimeZone) -> JSONValue {
        [
            "start_date": query.period.map { JSONValue($0.lowerBound == .distantPast ? nil : $0.lowerBound) } ?? .null,
            "end_date": query.period.map { JSONValue($0.upperBound == .distantFuture ? nil : $0.upperBound) } ?? .null,
            "timezone": .string(timeZone.identifier), "today": JSONValue(query.today.lowerBound),
            "month": JSONValue(query.thisMonth.lowerBound),
        ]
    }
}
