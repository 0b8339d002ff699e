import CloudGreetCore
import Foundation

/// Appointment rules that need no HTTP or SQL: overlap, and opening hours in the business's time zone.
enum Scheduling {
    static let durationRange = 5...480

    /// Half-open intervals `[start, end)`: back-to-back appointments do not overlap.
    static func overlaps(_ a: (start: Date, end: Date), _ b: (start: Date, end: Date)) -> Bool {
        a.start < b.end && b.start < a.end
    }

    /// Money: a JSON number with at most two decimals, at least zero, as integer cents.
    static func cents(_ value: JSONValue?) -> Int?? {
        guard let value, value != .null else { return .some(nil) }
        guard let number = value.doubleValue, number >= 0, number < 1e13 else { return nil }
        let cents = (number * 100).rounded()
        guard abs(number * 100 - cents) < 1e-6 else { return nil }
        return .some(Int(cents))
    }

    /// The reminder text when the caller gives none: names the business and the local date and
    /// time, e.g. "Wednesday, December 2 at 2:00 PM EST". Spelled out by hand so that it reads the
    /// same on every platform (ICU puts narrow no-break spaces in its times).
    static func defaultReminder(businessName: String, start: Date, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.weekday, .month, .day, .hour, .minute], from: start)
        let weekday = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"][(c.weekday ?? 1) - 1]
        let month = [
            "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December",
        ][(c.month ?? 1) - 1]
        let hour = c.hour ?? 0
        let minute = c.minute ?? 0
        let time = "\(hour % 12 == 0 ? 12 : hour % 12):\(minute < 10 ? "0" : "")\(minute) \(hour < 12 ? "AM" : "PM")"
        // `abbreviation(for:)` says "GMT-4" on Linux; the localized short name is the familiar "EDT".
        let zone =
            timeZone.localizedName(
                for: timeZone.isDaylightSavingTime(for: start) ? .shortDaylightSaving : .shortStandard,
                locale: Locale(identifier: "en_US")) ?? timeZone.identifier
        return "Reminder: you have an appointment with \(businessName) on \(weekday), \(month) \(c.day ?? 1) at \(time) \(zone)."
    }
}
