import CloudGreetCore
import Foundation

/// A business as other services see it (from identity's `GET /internal/businesses/{id}`), cached
/// briefly so that bookings and messages do not ask identity every time.
public struct BusinessInfo: Sendable {
    public let id: String
    public let name: String
    public let settings: JSONValue

    public var timeZone: TimeZone {
        settings["timezone"]?.stringValue.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "America/New_York") ?? .gmt
    }
    public var phoneNumber: String? { settings["phone_number"]?.stringValue }
    /// `reminders.hours_before` when reminders are enabled, else none.
    public var reminderHours: [Int] {
        guard settings["reminders"]?["enabled"]?.boolValue ?? true else { return [] }
        return settings["reminders"]?["hours_before"]?.arrayValue?.compactMap(\.intValue) ?? [24]
    }
}

public struct BusinessDirectory: Sendable {
    private let client: InternalClient
    private let cache: TTLCache<String, BusinessInfo>

    public init(client: InternalClient, ttl: TimeInterval = 30) {
        self.client = client
        cache = TTLCache(ttl: ttl)
    }

    public func business(_ id: String, as service: ServiceName, requestID: String) async throws -> BusinessInfo {
        if let info = await cache.value(id) { return info }
        return try await fetch("/internal/businesses/" + InternalClient.pathSegment(id), as: service, requestID: requestID)
    }

    /// The business that owns `phoneNumber` (E.164), or nil when none does.
    public func business(phoneNumber: String, as service: ServiceName, requestID: String) async throws -> BusinessInfo? {
        let encoded = phoneNumber.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? phoneNumber
        do {
            return try await fetch("/internal/business-by-phone?phone_number=\(encoded)", as: service, requestID: requestID)
        } catch let error as APIError where error.status == 404 {
            return nil
        }
    }

    private func fetch(_ path: String, as service: ServiceName, requestID: String) async throws -> BusinessInfo {
        let data = try await client.call(.identity, .GET, path, as: .service(service), requestID: requestID).data()
        guard let id = data["id"]?.stringValue, let name = data["name"]?.stringValue else {
            throw APIError.unavailable("identity answered without a business")
        }
        let info = BusinessInfo(id: id, name: name, settings: data["settings"] ?? [:])
        await cache.store(id, info)
        return info
    }
}
