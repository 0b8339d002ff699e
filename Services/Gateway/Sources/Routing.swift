import CloudGreetCore

/// Which service owns a public path (DESIGN.md section 1), and which paths need no credentials.
enum Routing {
    enum Access: Equatable { case anonymous, webhook, authenticated }

    struct Route: Equatable {
        let service: ServiceName
        let access: Access
    }

    static let webhooks: Set<String> = ["/webrtc/webhook", "/sms/webhook", "/retell/webhook"]
    static let publicAuth: Set<String> = ["/auth/register", "/auth/login", "/auth/forgot-password", "/auth/reset-password"]

    private static let owners: [(prefix: String, service: ServiceName)] = [
        ("auth", .identity), ("businesses", .identity),
        ("leads", .crm), ("appointments", .crm),
        ("agents", .voiceAgent), ("calls", .voiceAgent), ("webrtc", .voiceAgent), ("retell", .voiceAgent),
        ("sms", .messaging), ("emails", .messaging),
        ("analytics", .analytics),
    ]

    /// `path` is what follows `/api`. Internal routes are never reachable from outside.
    static func route(_ path: String) -> Route? {
        guard let first = path.split(separator: "/", omittingEmptySubsequences: true).first else { return nil }
        guard let owner = owners.first(where: { $0.prefix == first }) else { return nil }
        let normalized = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        if webhooks.contains(normalized) { return Route(service: owner.service, access: .webhook) }
        if publicAuth.contains(normalized) { return Route(service: owner.service, access: .anonymous) }
        return Route(service: owner.service, access: .authenticated)
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
}

/// An IPv4 CIDR block (`10.0.0.0/8`), a single IPv4 address, or an exact IPv6 address.
struct IPRange {
    private let network: UInt32?
    private let mask: UInt32
    private let exact: String?

    init?(_ text: String) {
        let parts = text.split(separator: "/")
        if let base = IPRange.ipv4(String(parts[0])) {
            let bits = parts.count > 1 ? Int(parts[1]) ?? -1 : 32
            guard (0...32).contains(bits) else { return nil }
            mask = bits == 0 ? 0 : UInt32.max << (32 - bits)
            network = base & mask
            exact = nil
        } else if text.contains(":") {
            network = nil
            mask = 0
            exact = text.lowercased()
        } else {
            return nil
        }
    }

    func contains(_ address: String) -> Bool {
        if let network {
            guard let value = IPRange.ipv4(address) else { return false }
            return value & mask == network
        }
        return exact == address.lowercased()
    }

    static func ipv4(_ text: String) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}
