import CloudGreetCore

/// Lead scoring: a points table over the contract's criteria. Each factor has a fixed maximum and
/// its points never fall as the answer improves, so the score (their sum, 0-100) is monotonic in
/// every criterion and explained by its breakdown. Absent optional answers score as the worst one.
///
/// | factor | points |
/// |---|---|
/// | budget (30) | high 30, medium 18, low 6 |
/// | timeline (25) | immediate 25, this_week 20, this_month 14, this_quarter 8, exploring 2 |
/// | decision_maker (20) | yes 20, no 0 |
/// | urgency (15) | high 15, medium 9, low 3, not given 0 |
/// | previous_customer (10) | yes 10, no or not given 0 |
enum Qualification {
    struct Criteria: Equatable, Sendable {
        var budget: String
        var timeline: String
        var decisionMaker: Bool
        var urgency: String?
        var previousCustomer: Bool?
    }

    struct Factor: Equatable, Sendable, Encodable, JSONRepresentable {
        let factor: String
        let points: Int
        let maxPoints: Int

        enum CodingKeys: String, CodingKey {
            case factor, points
            case maxPoints = "max_points"
        }
    }

    static let budget = ["high": 30, "medium": 18, "low": 6]
    static let timeline = ["immediate": 25, "this_week": 20, "this_month": 14, "this_quarter": 8, "exploring": 2]
    static let urgency = ["high": 15, "medium": 9, "low": 3]

    static func breakdown(_ criteria: Criteria) -> [Factor] {
        [
            Factor(factor: "budget", points: budget[criteria.budget] ?? 0, maxPoints: 30),
            Factor(factor: "timeline", points: timeline[criteria.timeline] ?? 0, maxPoints: 25),
            Factor(factor: "decision_maker", points: criteria.decisionMaker ? 20 : 0, maxPoints: 20),
            Factor(factor: "urgency", points: criteria.urgency.flatMap { urgency[$0] } ?? 0, maxPoints: 15),
            Factor(factor: "previous_customer", points: criteria.previousCustomer == true ? 10 : 0, maxPoints: 10),
        ]
    }

    static func score(_ criteria: Criteria) -> Int { breakdown(criteria).reduce(0) { $0 + $1.points } }

    /// Reads `criteria` from a request body; unknown values are 422s on `criteria.<field>`.
    static func read(_ fields: FieldReader) -> Criteria? {
        guard let criteria = fields.nested("criteria", required: true) else { return nil }
        let budget = criteria.oneOf("budget", Array(budget.keys).sorted(), required: true)
        let timeline = criteria.oneOf(
            "timeline", ["immediate", "this_week", "this_month", "this_quarter", "exploring"],
            required: true)
        let decisionMaker = criteria.bool("decision_maker", required: true)
        let urgency = criteria.oneOf("urgency", ["high", "medium", "low"])
        let previousCustomer = criteria.bool("previous_customer")
        guard let budget, let timeline, let decisionMaker else { return nil }
        return Criteria(
            budget: budget, timeline: timeline, decisionMaker: decisionMaker, urgency: urgency,
            previousCustomer: previousCustomer)
    }
}
