import CloudGreetCore
import Hummingbird
import ServiceKit

/// analytics' HTTP surface: `/analytics/overview` and `/analytics/leads/scored`, for admins and
/// users of the business (the `agent` role is refused).
struct AnalyticsRoutes: Sendable {
    let reports: Reports

    func register(on router: Router<AppContext>) {
        let readers = router.group().add(middleware: TenantMiddleware()).add(middleware: RoleMiddleware(.admin, .user))
        readers.get("/analytics/overview", use: overview)
        readers.get("/analytics/leads/scored", use: scored)
    }

    @Sendable func overview(_ request: Request, context: AppContext) async throws -> Response {
        let (businessID, period) = try Self.read(request, context)
        return .envelope(try await reports.overview(businessID: businessID, period: period, requestID: context.requestID), context: context)
    }

    @Sendable func scored(_ request: Request, context: AppContext) async throws -> Response {
        let (businessID, period) = try Self.read(request, context)
        return .envelope(try await reports.scored(businessID: businessID, period: period, requestID: context.requestID), context: context)
    }

    static func read(_ request: Request, _ context: AppContext) throws -> (String, Figures.Period) {
        let businessID = try context.scoped().businessID
        let fields = FieldReader(query: request.query)
        let period = Figures.Period(fields)
        try fields.finish()
        return (businessID, period)
    }
}
