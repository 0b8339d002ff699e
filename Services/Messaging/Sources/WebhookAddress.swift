import CloudGreetCore
import Foundation
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Where a webhook may be sent. Outside development an endpoint must be https, and every address
/// its host resolves to must be public: never loopback, private, link-local, carrier-grade NAT,
/// multicast or unspecified, whether written as a literal or reached through DNS. The check runs
/// when the endpoint is registered and again before each delivery, which then connects to the
/// addresses that were checked (so a DNS answer that changes in between cannot redirect it).
struct WebhookAddress: Sendable, Equatable {
    let url: String
    let host: String
    let port: Int
    /// The checked addresses, as curl pins them (`host:port:address`); empty in development.
    let pinned: [String]

    enum Refusal: Error, Equatable {
        case malformed, notHTTPS, unresolvable, notPublic
        var message: String {
            switch self {
            case .malformed: "must be an absolute http(s) URL with a host"
            case .notHTTPS: "must be https"
            case .unresolvable: "has a host that does not resolve"
            case .notPublic: "must not point at a loopback, private or link-local address"
            }
        }
    }

    /// Checks `url`; resolving the host is a blocking call, so it runs on NIO's thread pool.
    static func check(_ url: String, strict: Bool) async throws -> WebhookAddress {
        guard url.utf8.count <= 2048, let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty, components.user == nil
        else { throw Refusal.malformed }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard strict else { return WebhookAddress(url: url, host: host, port: port, pinned: []) }
        guard scheme == "https" else { throw Refusal.notHTTPS }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let addresses = try await NIOThreadPool.singleton.runIfActive { resolve(bare) }
        guard !addresses.isEmpty else { throw Refusal.unresolvable }
        guard addresses.allSatisfy(isPublic) else { throw Refusal.notPublic }
        let pinned = addresses.map { address in
            let text = Self.text(address)
            return "\(host):\(port):" + (address.count == 16 ? "[\(text)]" : text)
        }
        return WebhookAddress(url: url, host: host, port: port, pinned: pinned)
    }

    /// Every IPv4 (4 bytes) and IPv6 (16 bytes) address of `host`; none when it does not resolve.
    static func resolve(_ host: String) -> [[UInt8]] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var addresses: [[UInt8]] = []
        var node = list
        while let info = node?.pointee {
            if info.ai_family == AF_INET, let address = info.ai_addr {
                let bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin_addr) { Array($0) } }
                addresses.append(bytes)
            } else if info.ai_family == AF_INET6, let address = info.ai_addr {
                let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { withUnsafeBytes(of: $0.pointee.sin6_addr) { Array($0) } }
                addresses.append(bytes)
            }
            node = info.ai_next
        }
        return addresses
    }

    /// False for the ranges no customer endpoint lives in (RFC 6890 special-purpose addresses).
    static func isPublic(_ address: [UInt8]) -> Bool {
        if address.count == 16 {
            let zeros = address[0..<10].allSatisfy { $0 == 0 }
            if zeros && address[10] == 0xFF && address[11] == 0xFF { return isPublic(Array(address[12...])) }  // IPv4-mapped
            if address.allSatisfy({ $0 == 0 }) || address[0..<15].allSatisfy({ $0 == 0 }) && address[15] == 1 { return false }  // :: and ::1
            if address[0] & 0xFE == 0xFC { return false }  // fc00::/7 unique local
            if address[0] == 0xFE && address[1] & 0xC0 == 0x80 { return false }  // fe80::/10 link-local
            if address[0] == 0xFF { return false }  // multicast
            if address[0] == 0x20 && address[1] == 0x01 && address[2] == 0x0D && address[3] == 0xB8 { return false }  // documentation
            return true
        }
        guard address.count == 4 else { return false }
        let (a, b) = (address[0], address[1])
        switch a {
        case 0, 10, 127: return false
        case 100 where b & 0xC0 == 64: return false  // 100.64/10 carrier-grade NAT
        case 169 where b == 254: return false  // link-local, cloud metadata
        case 172 where b & 0xF0 == 16: return false
        case 192 where b == 168: return false
        case 192 where b == 0 && address[2] == 0: return false  // 192.0.0/24 protocol assignments
        case 198 where b & 0xFE == 18: return false  // 198.18/15 benchmarking
        case 224...255: return false  // multicast, reserved, broadcast
        default: return true
        }
    }

    static func text(_ address: [UInt8]) -> String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}
