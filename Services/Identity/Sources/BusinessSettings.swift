import CloudGreetCore
import Foundation

/// The rules for a business's `settings` (API-CONTRACT.md section 4). Pure values: validated and
/// merged here, stored as JSON by the store.
enum BusinessSettings {
    static let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    static let known: Set<String> = ["timezone", "business_hours", "phone_number", "escalation_phone", "sms_auto_reply", "reminders"]

    static let defaults: JSONValue = [
        "timezone": "America/New_York",
        "reminders": ["enabled": true, "hours_before": [24]],
        "sms_auto_reply": nil,
    ]

    /// Validates the keys present in `settings` (a nested reader named `settings`) and returns them
    /// normalised; problems go into the reader's error list.
    static func validate(_ settings: FieldReader, defaultCountryCode: String) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for key in settings.object.keys where !known.contains(key) {
            settings.fail(key, "is not a known setting")
        }
        if settings.has("timezone") {
            if let zone = settings.string("timezone", required: true, maxLength: 64) {
                if TimeZone(identifier: zone) == nil || !TimeZone.knownTimeZoneIdentifiers.contains(zone) && zone != "UTC" {
                    settings.fail("timezone", "must be an IANA time zone name")
                } else {
                    result["timezone"] = .string(zone)
                }
            }
        }
        if settings.has("business_hours") {
            if let hours = settings.nested("business_hours", required: true), let value = validateHours(hours) {
                result["business_hours"] = value
            }
        }
        for key in ["phone_number", "escalation_phone"] where settings.has(key) {
            if settings.object[key] == .null {
                result[key] = .null
            } else if let phone = settings.phone(key, required: true, defaultCountryCode: defaultCountryCode) {
                result[key] = .string(phone)
            }
        }
        if settings.has("sms_auto_reply") {
            if settings.object["sms_auto_reply"] == .null {
                result["sms_auto_reply"] = .null
            } else if let text = settings.string("sms_auto_reply", required: true, maxLength: 1600, multiline: true) {
                result["sms_auto_reply"] = .string(text)
            }
        }
        if settings.has("reminders"), let reminders = settings.nested("reminders", required: true) {
            let enabled = reminders.bool("enabled", required: true)
            var hours: [JSONValue] = []
            switch reminders.object["hours_before"] {
            case nil: hours = [24]
            case .array(let values)?:
                if values.count > 5 { reminders.fail("hours_before", "must have at most 5 entries") }
                for value in values {
                    guard let number = value.intValue, (1...720).contains(number) else {
                        reminders.fail("hours_before", "must be whole numbers of hours between 1 and 720")
                        break
                    }
                    hours.append(JSONValue(number))
                }
            default: reminders.fail("hours_before", "must be an array of hours")
            }
            if let enabled { result["reminders"] = ["enabled": .bool(enabled), "hours_before": .array(hours)] }
        }
        return result
    }

    /// `monday`..`sunday`, each `{open: "HH:MM", close: "HH:MM"}` with open before close, or `{closed: true}`.
    static func validateHours(_ hours: FieldReader) -> JSONValue? {
        var result: [String: JSONValue] = [:]
        var valid = true
        for key in hours.object.keys where !weekdays.contains(key) {
            hours.fail(key, "is not a day of the week")
            valid = false
        }
        for day in weekdays where hours.has(day) {
            guard let entry = hours.nested(day, required: true) else {
                valid = false
                continue
            }
            if entry.object["closed"] == .bool(true) {
                result[day] = ["closed": true]
                continue
            }
            let open = entry.string("open", required: true, maxLength: 5).flatMap { minutes($0) }
            let close = entry.string("close", required: true, maxLength: 5).flatMap { minutes($0) }
            if entry.has("open"), open == nil, entry.object["open"]?.stringValue != nil { entry.fail("open", "must be HH:MM") }
            if entry.has("close"), close == nil, entry.object["close"]?.stringValue != nil { entry.fail("close", "must be HH:MM") }
            guard let open, let close else {
                valid = false
                continue
            }
            guard open < close else {
                entry.fail("close", "must be later than open")
                valid = false
                continue
            }
            result[day] = ["open": .string(format(open)), "close": .string(format(close))]
        }
        return valid ? .object(result) : nil
    }

    /// Minutes after midnight for `HH:MM` (00:00 to 24:00).
    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
            (0...24).contains(h), (0...59).contains(m), h < 24 || m == 0
        else { return nil }
        return h * 60 + m
    }

    static func format(_ minutes: Int) -> String {
        let h = minutes / 60
        let m = minutes % 60
        return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }
}
