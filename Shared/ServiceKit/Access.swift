import CloudGreetCore
import Hummingbird

/// Who a business-scoped request is for, set by `TenantMiddleware`: handlers read it, the checks
/// live in the route group.
public struct Tenant: Sendable {
    public let caller: Caller
    public let businessID: String
}

/// Route-group middleware for business-scoped routes: a user or API key of a business (only users
/// when `usersOnly`). 401 without a caller, 403 otherwise.
public struct TenantMiddleware: RouterMiddleware {
    public typealias Context = AppContext
    let usersOnly: Bool

    public init(usersOnly: Bool = false) { self.usersOnly = usersOnly }

    public func handle(
        _ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response
    ) async throws
        -> Response
    {
        guard let caller = context.caller, caller.kind != .anonymous else { throw APIError.authRequired }
        guard caller.kind == .user || caller.kind == .apiKey, !usersOnly || caller.kind == .user, let businessID = caller.businessID
        else { throw APIError.forbidden }
        var context = context
        context.tenant = Tenant(caller: caller, businessID: businessID)
        return try await next(request, context)
    }
}

/// Route-group middleware after `TenantMiddleware`: only these roles (403 for the others).
public struct RoleMiddleware: RouterMiddleware {
    public typealias Context = AppContext
    let roles: Set<Role>

    public init(_ roles: Role...) { self.roles = Set(roles) }

    public func handle(
        _ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response
    ) async throws
        -> Response
    {
        guard let role = try context.scoped().caller.role, roles.contains(role) else { throw APIError.forbidden }
        return try await next(request, context)
    }
}

/// Route-group middleware for `/internal/...`: other services only (403 for anyone else).
public struct ServiceOnlyMiddleware: RouterMiddleware {
    public typealias Context = AppContext
    public init() {}

    public func handle(
        _ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response
    ) async throws
        -> Response
    {
        guard context.caller?.kind == .service else { throw APIError.forbidden }
        return try await next(request, context)
    }
}
