import CloudGreetCore
import Foundation

/// The rules for a business's `settings` (API-CONTRACT.md section 4). Pure values: validated and
/// merged here, stored as JSON by the store.
enum BusinessSettings {
    static let known: Set<String> = [
        "timezone", "business_hours", "phone_number", "escalation_phone", "sms_auto_reply", "reminders", "missed_call_text_back",
        "missed_call_text",
    ]

    static let defaults: JSONValue = [
        "timezone": "America/New_York",
        "reminders": ["enabled": true, "hours_before": [24]],
        "sms_auto_reply": nil,
        "missed_call_text_back": false,
        "missed_call_text": nil,
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
            if let hours = settings.nested("business_hours", required: true), let value = OpeningHours.validate(hours) {
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
        for key in ["sms_auto_reply", "missed_call_text"] where settings.has(key) {
            if settings.object[key] == .null {
                result[key] = .null
            } else if let text = settings.string(key, required: true, maxLength: 1600, multiline: true) {
                result[key] = .string(text)
            }
        }
        if settings.has("missed_call_text_back"), let on = settings.bool("missed_call_text_back", required: true) {
            result["missed_call_text_back"] = .bool(on)
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
}
