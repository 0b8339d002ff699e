import CloudGreetCore
import ServiceKit

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which service owns a public path (the design's section 1), and which paths need no credentials.
enum Routing {
    static let webhooks: Set<String> = ["/webrtc/webhook", "/sms/webhook", "/retell/webhook"]
    static let publicAuth: Set<String> = ["/auth/register", "/auth/login", "/auth/forgot-password", "/auth/reset-password"]

    private static let owners: [(prefix: String, service: ServiceName)] = [
        ("auth", .identity), ("businesses", .identity),
        ("leads", .crm), ("appointments", .crm),
        ("agents", .voiceAgent), ("calls", .voiceAgent), ("webrtc", .voiceAgent), ("retell", .voiceAgent),
        ("sms", .messaging), ("emails", .messaging),
        ("analytics", .analytics),
    ]

    /// `path` without empty segments (`/auth//login/` is `/auth/login`): how the services' routers
    /// read it, so it is what access is decided on and what is forwarded.
    static func canonical(_ path: String) -> String {
        "/" + path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    /// `path` is what follows `/api`. Internal routes are never reachable from outside.
    static func route(_ path: String) -> UpstreamRoute? {
        let normalized = canonical(path)
        guard let first = normalized.split(separator: "/").first else { return nil }
        guard let owner = owners.first(where: { $0.prefix == first }) else { return nil }
        let access: UpstreamRoute.Access =
            webhooks.contains(normalized) ? .webhook : publicAuth.contains(normalized) ? .anonymous : .authenticated
        return UpstreamRoute(service: owner.service, access: access, path: normalized)
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
