import CloudGreetCore
import Foundation

/// What analytics asks each data-owning service (`GET /internal/stats`): one business, an optional
/// period, and the business's today and months, worked out by analytics in the business's time
/// zone so that the owners need no calendar. Ranges are half open. One type owns both sides: the
/// query string the client sends and the reading of it on the server.
public struct StatsQuery: Sendable, Equatable, Hashable {
    public var businessID: String
    public var period: Range<Date>?
    public var today: Range<Date>
    public var thisMonth: Range<Date>
    public var lastMonth: Range<Date>

    public init(businessID: String, period: Range<Date>?, today: Range<Date>, thisMonth: Range<Date>, lastMonth: Range<Date>) {
        self.businessID = businessID
        self.period = period
        self.today = today
        self.thisMonth = thisMonth
        self.lastMonth = lastMonth
    }

    public var queryItems: [(String, String)] {
        var items = [("business_id", businessID)]
        for (name, range) in [("today", today), ("month", thisMonth), ("last_month", lastMonth)] {
            items += [(name + "_start", Timestamp.format(range.lowerBound)), (name + "_end", Timestamp.format(range.upperBound))]
        }
        if let period {
            items += [("start_date", Timestamp.format(period.lowerBound)), ("end_date", Timestamp.format(period.upperBound))]
        }
        return items
    }

    /// Reads the query string of `/internal/stats`: 422 naming every bad or missing parameter.
    public init(query: [String: String]) throws {
        let fields = FieldReader(query: query)
        let business = fields.id("business_id", .business, required: true)
        func range(_ start: String, _ end: String, required: Bool) -> Range<Date>? {
            let from = fields.date(start, required: required)
            let to = fields.date(end, required: required)
            guard let from, let to else { return nil }
            guard from <= to else {
                fields.fail(end, "must not come before \(start)")
                return nil
            }
            return from..<to
        }
        let today = range("today_start", "today_end", required: true)
        let thisMonth = range("month_start", "month_end", required: true)
        let lastMonth = range("last_month_start", "last_month_end", required: true)
        let period = range("start_date", "end_date", required: query["start_date"] != nil || query["end_date"] != nil)
        try fields.finish()
        guard let business, let today, let thisMonth, let lastMonth else { throw APIError.validation(field: "business_id", "is required") }
        self.init(businessID: business, period: period, today: today, thisMonth: thisMonth, lastMonth: lastMonth)
    }

    /// `range` narrowed to the period (empty when they do not meet).
    public func narrowed(_ range: Range<Date>) -> Range<Date> {
        guard let period else { return range }
        return range.clamped(to: period)
    }

    func fetch<T: Decodable>(
        _ type: T.Type, from service: ServiceName, _ client: InternalClient, as caller: ServiceName, requestID: String
    )
        async throws -> T
    {
        let data = try await client.data(
            service, .GET, "/internal/stats?" + FormQuery.encode(queryItems), as: .service(caller), requestID: requestID)
        return try InternalClient.decode(T.self, from: data, of: service)
    }
}

/// voice-agent's answer to a `StatsQuery`: calls created in the period, those created today, the
/// completed ones and the sum of their durations (seconds).
public struct CallStats: Sendable, Equatable, Codable {
    public var total: Int
    public var today: Int
    public var completed: Int
    public var completedSeconds: Int

    public init(total: Int, today: Int, completed: Int, completedSeconds: Int) {
        self.total = total
        self.today = today
        self.completed = completed
        self.completedSeconds = completedSeconds
    }

    enum CodingKeys: String, CodingKey {
        case total, today, completed
        case completedSeconds = "completed_seconds"
    }
}

/// messaging's answer to a `StatsQuery`: texts by direction and emails created in the period.
public struct MessageStats: Sendable, Equatable, Codable {
    public var smsInbound: Int
    public var smsOutbound: Int
    public var emails: Int

    public init(smsInbound: Int, smsOutbound: Int, emails: Int) {
        self.smsInbound = smsInbound
        self.smsOutbound = smsOutbound
        self.emails = emails
    }

    enum CodingKeys: String, CodingKey {
        case emails
        case smsInbound = "sms_inbound"
        case smsOutbound = "sms_outbound"
    }
}

/// What analytics asks voice-agent.
public struct VoiceAgentClient: Sendable {
    public var stats: @Sendable (_ query: StatsQuery, _ requestID: String) async throws -> CallStats

    public init(
        stats: @escaping @Sendable (StatsQuery, String) async throws -> CallStats = { _, _ in throw ServiceCallError.unavailable(.voiceAgent) }
    ) {
        self.stats = stats
    }

    public static func live(_ client: InternalClient, as service: ServiceName) -> VoiceAgentClient {
        VoiceAgentClient(stats: { query, requestID in
            try await query.fetch(CallStats.self, from: .voiceAgent, client, as: service, requestID: requestID)
        })
    }
}
