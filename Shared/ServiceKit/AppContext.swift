import CloudGreetCore
import Hummingbird
import NIOCore

/// The request context of every service: the request id, the socket's peer, and (after internal
/// authentication) who the request is for.
public struct AppContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String
    public var caller: Caller?
    public let remoteAddress: SocketAddress?
    /// The client's address as the gateway resolved it (trusted proxies applied), once per request.
    public var clientAddress: String?
    /// Where the gateway sends this request, decided once by its front door; nil for unknown paths.
    public var upstream: UpstreamRoute?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        requestID = ""
        remoteAddress = source.channel.remoteAddress
    }

    /// The body limit is enforced by the gateway and by `jsonBody`; this only bounds buffering.
    public var maxUploadSize: Int { 16 * 1024 * 1024 }

    /// Set by `TenantMiddleware` on business-scoped route groups.
    public var tenant: Tenant?

    /// The tenant of a route in a `TenantMiddleware` group; a route outside one gets a 401, never data.
    public func scoped() throws -> Tenant {
        guard let tenant else { throw APIError.authRequired }
        return tenant
    }

    /// A `business_id` in a body may be omitted; when present it must be the caller's own (403).
    public func checkBusinessField(_ fields: FieldReader, businessID: String) throws {
        guard fields.has("business_id") else { return }
        guard fields.object["business_id"]?.stringValue == businessID else { throw APIError.forbidden }
    }

}

/// Which service a public path belongs to and who may call it, as the gateway decided it.
public struct UpstreamRoute: Sendable, Equatable {
    public enum Access: Sendable, Equatable { case anonymous, webhook, authenticated }

    public let service: ServiceName
    public let access: Access
    /// What follows `/api`, without empty segments: what is forwarded.
    public let path: String

    public init(service: ServiceName, access: Access, path: String) {
        self.service = service
        self.access = access
        self.path = path
    }
}
