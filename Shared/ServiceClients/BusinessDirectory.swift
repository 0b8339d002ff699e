import CloudGreetCore
import Foundation

/// A business as other services see it (identity's `GET /internal/businesses/{id}`).
public struct BusinessInfo: Sendable {
    public let id: String
    public let name: String
    public let settings: JSONValue
    /// Where notices about the business's account go (`GET /internal/businesses/{id}` only).
    public let adminEmails: [String]

    public init(id: String, name: String, settings: JSONValue, adminEmails: [String] = []) {
        self.id = id
        self.name = name
        self.settings = settings
        self.adminEmails = adminEmails
    }

    init(_ json: JSONValue) throws {
        guard let id = json["id"]?.stringValue, let name = json["name"]?.stringValue, let settings = json["settings"]?.objectValue
        else { throw ServiceCallError.malformed(.identity) }
        self.init(
            id: id, name: name, settings: .object(settings), adminEmails: json["admin_emails"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    public var timeZone: TimeZone {
        settings["timezone"]?.stringValue.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "America/New_York") ?? .gmt
    }
    public var phoneNumber: String? { settings["phone_number"]?.stringValue }
    /// A human to transfer calls to when no AI agent takes them.
    public var escalationPhone: String? { settings["escalation_phone"]?.stringValue }
    /// The text a caller gets after a missed call, when `missed_call_text_back` is on; nil when off.
    public var missedCallText: String? {
        guard settings["missed_call_text_back"]?.boolValue == true else { return nil }
        return settings["missed_call_text"]?.stringValue
            ?? "Sorry we missed your call at \(name). Reply to this text and we will get back to you soon."
    }
    /// `reminders.hours_before` when reminders are enabled, else none.
    public var reminderHours: [Int] {
        guard settings["reminders"]?["enabled"]?.boolValue ?? true else { return [] }
        return settings["reminders"]?["hours_before"]?.arrayValue?.compactMap(\.intValue) ?? [24]
    }
}

/// Businesses by id, from identity, cached briefly so that bookings and messages do not ask
/// identity every time.
public struct BusinessDirectory: Sendable {
    private let identity: IdentityClient
    private let cache: TTLCache<String, BusinessInfo>

    public init(identity: IdentityClient, ttl: TimeInterval = 30) {
        self.identity = identity
        cache = TTLCache(ttl: ttl)
    }

    public func business(_ id: String, requestID: String) async throws -> BusinessInfo {
        if let info = cache.value(id) { return info }
        let info = try await identity.business(id, requestID)
        cache.store(info.id, info)
        return info
    }

    /// The business that owns `phoneNumber` (E.164), or nil when none does.
    public func business(phoneNumber: String, requestID: String) async throws -> BusinessInfo? {
        guard let info = try await identity.businessByPhone(phoneNumber, requestID) else { return nil }
        cache.store(info.id, info)
        return info
    }
}
