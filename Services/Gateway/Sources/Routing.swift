import CloudGreetCore
import HTTPTypes
import ServiceKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One public operation: the method and path template (`{name}` stands for one segment) that the
/// gateway forwards, to which service, and who may call it. `docs/openapi.yaml` documents exactly
/// these and the gateway's own routes (`gatewayRoutes`); a test holds the two together.
struct PublicRoute: Sendable {
    let method: HTTPRequest.Method
    let path: String
    let service: ServiceName
    let access: UpstreamRoute.Access

    init(_ method: HTTPRequest.Method, _ path: String, _ service: ServiceName, _ access: UpstreamRoute.Access = .authenticated) {
        self.method = method
        self.path = path
        self.service = service
        self.access = access
        segments = path.split(separator: "/").map { $0.hasPrefix("{") ? nil : String($0) }
    }

    /// The template's segments, nil where any one segment matches.
    private let segments: [String?]

    func matches(_ method: HTTPRequest.Method, _ path: [Substring]) -> Bool {
        guard method == self.method, path.count == segments.count else { return false }
        return zip(segments, path).allSatisfy { template, segment in template.map { $0 == segment } ?? true }
    }
}

/// The gateway's routing table: every public operation and the service that owns it (the design's
/// section 1). Anything else under `/api` is a 404 from the gateway itself.
enum Routing {
    static let table: [PublicRoute] = [
        PublicRoute(.post, "/auth/register", .identity, .anonymous),
        PublicRoute(.post, "/auth/login", .identity, .anonymous),
        PublicRoute(.post, "/auth/forgot-password", .identity, .anonymous),
        PublicRoute(.post, "/auth/reset-password", .identity, .anonymous),
        PublicRoute(.post, "/auth/logout", .identity),
        PublicRoute(.get, "/businesses", .identity),
        PublicRoute(.post, "/businesses", .identity),
        PublicRoute(.get, "/businesses/{id}", .identity),
        PublicRoute(.put, "/businesses/{id}", .identity),
        PublicRoute(.get, "/businesses/{id}/members", .identity),
        PublicRoute(.post, "/businesses/{id}/members", .identity),
        PublicRoute(.get, "/businesses/{id}/api-keys", .identity),
        PublicRoute(.post, "/businesses/{id}/api-keys", .identity),
        PublicRoute(.delete, "/businesses/{id}/api-keys/{key_id}", .identity),

        PublicRoute(.get, "/leads", .crm),
        PublicRoute(.post, "/leads", .crm),
        PublicRoute(.get, "/leads/{id}", .crm),
        PublicRoute(.put, "/leads/{id}", .crm),
        PublicRoute(.delete, "/leads/{id}", .crm),
        PublicRoute(.post, "/leads/{id}/qualify", .crm),
        PublicRoute(.get, "/appointments", .crm),
        PublicRoute(.post, "/appointments", .crm),
        PublicRoute(.get, "/appointments/{id}", .crm),
        PublicRoute(.put, "/appointments/{id}", .crm),
        PublicRoute(.delete, "/appointments/{id}", .crm),
        PublicRoute(.post, "/appointments/{id}/remind", .crm),

        PublicRoute(.get, "/agents", .voiceAgent),
        PublicRoute(.post, "/agents", .voiceAgent),
        PublicRoute(.get, "/agents/{id}", .voiceAgent),
        PublicRoute(.put, "/agents/{id}", .voiceAgent),
        PublicRoute(.delete, "/agents/{id}", .voiceAgent),
        PublicRoute(.post, "/agents/{id}/start", .voiceAgent),
        PublicRoute(.post, "/agents/{id}/stop", .voiceAgent),
        PublicRoute(.get, "/agents/{id}/status", .voiceAgent),
        PublicRoute(.get, "/calls", .voiceAgent),
        PublicRoute(.get, "/calls/{id}", .voiceAgent),
        PublicRoute(.post, "/webrtc/webhook", .voiceAgent, .webhook),
        PublicRoute(.post, "/retell/webhook", .voiceAgent, .webhook),

        PublicRoute(.get, "/sms", .messaging),
        PublicRoute(.post, "/sms", .messaging),
        PublicRoute(.get, "/emails", .messaging),
        PublicRoute(.post, "/emails", .messaging),
        PublicRoute(.post, "/sms/webhook", .messaging, .webhook),
        PublicRoute(.get, "/webhooks", .messaging),
        PublicRoute(.post, "/webhooks", .messaging),
        PublicRoute(.delete, "/webhooks/{id}", .messaging),
        PublicRoute(.post, "/webhooks/{id}/test", .messaging),
        PublicRoute(.get, "/webhooks/{id}/deliveries", .messaging),
        PublicRoute(.post, "/webhooks/{id}/deliveries/{event_id}/redeliver", .messaging),

        PublicRoute(.get, "/analytics/overview", .analytics),
        PublicRoute(.get, "/analytics/leads/scored", .analytics),
    ]

    /// What the gateway answers itself, without credentials: health and the API's description.
    static let gatewayRoutes: [PublicRoute] = [
        PublicRoute(.get, "/health", .gateway, .anonymous), PublicRoute(.get, "/openapi.json", .gateway, .anonymous),
        PublicRoute(.get, "/docs", .gateway, .anonymous), PublicRoute(.get, "/docs/{file}", .gateway, .anonymous),
    ]

    static func isGatewayRoute(_ method: HTTPRequest.Method, _ path: String) -> Bool {
        // Split on bytes: splitting by Character costs more than the rest of the routing.
        let segments = path.utf8.split(separator: UInt8(ascii: "/")).map(Substring.init)
        return gatewayRoutes.contains { $0.matches(method, segments) }
    }

    /// The table by first segment, so a request is compared with a handful of templates.
    private static let byFirstSegment: [Substring: [PublicRoute]] = Dictionary(
        grouping: table, by: { $0.path.split(separator: "/").first ?? "" })

    /// `path` is what follows `/api`. Empty segments are dropped (`/auth//login/` is `/auth/login`)
    /// as the services' routers drop them, so they cannot change the access, and the forwarded path
    /// is the one access was decided on. Internal routes are never reachable from outside.
    static func route(_ method: HTTPRequest.Method, _ path: String) -> UpstreamRoute? {
        // Split on bytes: splitting by Character costs more than the rest of the routing.
        let segments = path.utf8.split(separator: UInt8(ascii: "/")).map(Substring.init)
        guard let first = segments.first,
            let route = byFirstSegment[first]?.first(where: { $0.matches(method, segments) })
        else { return nil }
        // A path without empty segments goes on as it came; joining it again cost a tenth of the routing.
        let canonical = path.utf8.count == segments.reduce(0) { $0 + 1 + $1.utf8.count }
        return UpstreamRoute(
            service: route.service, access: route.access, path: canonical ? path : "/" + segments.joined(separator: "/"))
    }
}

/// The client's address: the socket's peer, or, when that peer is a trusted proxy, the nearest
/// address in `X-Forwarded-For` that is not itself a trusted proxy.
struct ClientAddress {
    let trusted: [IPRange]

    init(trustedProxies: [String]) {
        trusted = trustedProxies.compactMap(IPRange.init)
    }

    func resolve(peer: String?, forwardedFor: String?) -> String {
        guard let peer else { return "unknown" }
        guard isTrusted(peer), let forwardedFor else { return peer }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for hop in hops.reversed() where !isTrusted(hop) { return hop }
        return hops.first ?? peer
    }

    func isTrusted(_ address: String) -> Bool { trusted.contains { $0.contains(address) } }

    /// What per-client limits count by: an IPv4 address, or the /64 of an IPv6 one, since a single
    /// host is usually given a whole /64 and could otherwise take a fresh address per request.
    static func limitKey(_ address: String) -> String {
        guard let bytes = IPRange.bytes(address), address.contains(":"), bytes[0..<12] != IPRange.mappedPrefix[...] else {
            return address
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}

/// A CIDR block or a single address, IPv4 (`10.0.0.0/8`) or IPv6 (`fd00::/8`). Addresses are
/// compared as 128 bits, IPv4 as IPv4-mapped IPv6, so `::ffff:10.1.2.3` is inside `10.0.0.0/8`.
struct IPRange {
    private let network: [UInt8]
    private let prefixLength: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let address = IPRange.bytes(String(first)) else { return nil }
        let isV4 = !first.contains(":")
        var bits = isV4 ? 32 : 128
        if parts.count > 1 {
            guard let given = Int(parts[1]), (0...bits).contains(given) else { return nil }
            bits = given
        }
        prefixLength = isV4 ? 96 + bits : bits
        network = IPRange.masked(address, prefixLength)
    }

    func contains(_ address: String) -> Bool {
        guard let bytes = IPRange.bytes(address) else { return false }
        return IPRange.masked(bytes, prefixLength) == network
    }

    /// The 16 bytes of an IPv6 address, or of an IPv4 address mapped into IPv6.
    static func bytes(_ text: String) -> [UInt8]? {
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        var v4 = in_addr()
        guard inet_pton(AF_INET, text, &v4) == 1 else { return nil }
        return mappedPrefix + withUnsafeBytes(of: &v4) { Array($0) }
    }

    /// The first 12 bytes of an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
    static let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]

    private static func masked(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = min(8, max(0, prefix - index * 8))
            return keep == 8 ? byte : keep == 0 ? 0 : byte & ~(UInt8.max >> keep)
        }
    }
}
