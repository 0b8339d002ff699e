import CloudGreetCore
import Foundation

/// Appointment rules that need no HTTP or SQL: overlap, and opening hours in the business's time zone.
enum Scheduling {
    static let durationRange = 5...480

    /// Half-open intervals `[start, end)`: back-to-back appointments do not overlap.
    static func overlaps(_ a: (start: Date, end: Date), _ b: (start: Date, end: Date)) -> Bool {
        a.start < b.end && b.start < a.end
    }

    /// The business's opening hours as set in identity (`settings.business_hours`), or nil when the
    /// business has none, in which case any time is allowed.
    struct Hours: Sendable {
        let timeZone: TimeZone
        /// weekday name -> (open, close) in minutes after local midnight; a missing day is closed.
        let days: [String: (open: Int, close: Int)]

        init?(settings: JSONValue) {
            guard let hours = settings["business_hours"]?.objectValue, !hours.isEmpty else { return nil }
            timeZone = settings["timezone"]?.stringValue.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "America/New_York") ?? .gmt
            var days: [String: (Int, Int)] = [:]
            for (day, value) in hours {
                guard let open = value["open"]?.stringValue.flatMap(Self.minutes),
                    let close = value["close"]?.stringValue.flatMap(Self.minutes)
                else { continue }
                days[day] = (open, close)
            }
            self.days = days
        }

        /// Whether `[start, start + duration)` lies inside one day's opening hours, local time.
        func contains(start: Date, durationMinutes: Int) -> Bool {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = timeZone
            let end = start.addingTimeInterval(TimeInterval(durationMinutes * 60))
            let day = calendar.startOfDay(for: start)
            guard let hours = days[Self.weekday(calendar.component(.weekday, from: start))] else { return false }
            // Wall-clock minutes, so a day that is 23 or 25 hours long still opens at its local 09:00.
            let startParts = calendar.dateComponents([.hour, .minute], from: start)
            let startMinute = (startParts.hour ?? 0) * 60 + (startParts.minute ?? 0)
            let endMinute: Int
            if calendar.startOfDay(for: end) == day {
                let endParts = calendar.dateComponents([.hour, .minute], from: end)
                endMinute = (endParts.hour ?? 0) * 60 + (endParts.minute ?? 0)
            } else if calendar.date(byAdding: .day, value: 1, to: day) == end {
                endMinute = 24 * 60  // ends exactly at midnight
            } else {
                return false
            }
            return startMinute >= hours.open && endMinute <= hours.close && startMinute < endMinute
        }

        static func weekday(_ number: Int) -> String {
            ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"][(number - 1) % 7]
        }

        static func minutes(_ text: String) -> Int? {
            let parts = text.split(separator: ":")
            guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]) else { return nil }
            return h * 60 + m
        }
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
