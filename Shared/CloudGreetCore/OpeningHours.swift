import Foundation

/// Weekly opening hours in a time zone: a business's `business_hours` (appointments must fit in
/// them) and an AI agent's `working_hours` (calls it takes). The JSON is `monday`..`sunday`, each
/// `{open: "HH:MM", close: "HH:MM"}` or `{closed: true}`; a missing day is closed.
public struct OpeningHours: Sendable {
    public static let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    public let timeZone: TimeZone
    /// weekday name -> (open, close) in minutes after local midnight.
    let days: [String: (open: Int, close: Int)]

    /// The hours in `json`, or nil when there are none, which means always open.
    public init?(_ json: JSONValue?, timeZone: TimeZone) {
        guard let hours = json?.objectValue, !hours.isEmpty else { return nil }
        self.timeZone = timeZone
        var days: [String: (Int, Int)] = [:]
        for (day, value) in hours {
            guard let open = value["open"]?.stringValue.flatMap(Self.minutes),
                let close = value["close"]?.stringValue.flatMap(Self.minutes)
            else { continue }
            days[day] = (open, close)
        }
        self.days = days
    }

    /// A business's hours from its settings (`business_hours` in `timezone`).
    public init?(businessSettings settings: JSONValue) {
        let zone = settings["timezone"]?.stringValue.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "America/New_York") ?? .gmt
        self.init(settings["business_hours"], timeZone: zone)
    }

    /// Whether the instant falls inside that day's hours, local time.
    public func isOpen(at date: Date) -> Bool { contains(start: date, durationMinutes: 0) }

    /// Whether `[start, start + duration)` lies inside one day's opening hours, local time.
    public func contains(start: Date, durationMinutes: Int) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let end = start.addingTimeInterval(TimeInterval(durationMinutes * 60))
        let day = calendar.startOfDay(for: start)
        guard let hours = days[Self.weekday(calendar.component(.weekday, from: start))] else { return false }
        // Wall-clock minutes, so a day that is 23 or 25 hours long still opens at its local 09:00.
        let startParts = calendar.dateComponents([.hour, .minute], from: start)
        let startMinute = (startParts.hour ?? 0) * 60 + (startParts.minute ?? 0)
        guard durationMinutes > 0 else { return startMinute >= hours.open && startMinute < hours.close }
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

    static func weekday(_ number: Int) -> String { weekdays[(number + 5) % 7] }  // Calendar: 1 is Sunday

    /// Validates hours sent by a client (read from `hours`, errors reported on it) and returns them
    /// normalised, or nil when any day is wrong.
    public static func validate(_ hours: FieldReader) -> JSONValue? {
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
    public static func minutes(_ text: String) -> Int? {
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
