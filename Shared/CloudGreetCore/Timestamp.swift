import Foundation

/// ISO 8601 times as the contract wants them: any offset accepted on input, UTC `Z` on output.
public enum Timestamp {
    /// `YYYY-MM-DDTHH:MM:SSZ`, fractions of a second dropped. Written by hand from the Unix time
    /// (every response's envelope and every resource carries times, and Foundation's ISO 8601
    /// style cost more than the rest of a lead's JSON); the same text as
    /// `Date.ISO8601FormatStyle` for the years 1583 to 9999, which it falls back to outside them
    /// (before the Gregorian reform Foundation writes Julian dates).
    public static func format(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds.isFinite, abs(seconds) < 1e15 else { return foundationFormat(date) }
        let total = Int64(seconds)
        let (days, secondOfDay) = floorDivision(total, 86_400)
        let (year, month, day) = civil(fromDays: days)
        guard (1583...9999).contains(year) else { return foundationFormat(date) }
        // Written into the string's own storage: an array for the bytes, and one for the separators,
        // were two more allocations for every time in every response.
        return String(unsafeUninitializedCapacity: 20) { text in
            func put(_ value: Int64, _ digits: Int, at offset: Int) {
                var rest = value
                for index in stride(from: offset + digits - 1, through: offset, by: -1) {
                    text[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
            }
            put(year, 4, at: 0)
            text[4] = UInt8(ascii: "-")
            put(month, 2, at: 5)
            text[7] = UInt8(ascii: "-")
            put(day, 2, at: 8)
            text[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, 2, at: 11)
            text[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, 2, at: 14)
            text[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, 2, at: 17)
            text[19] = UInt8(ascii: "Z")
            return 20
        }
    }

    /// An HTTP `Date` header's text (IMF-fixdate, RFC 9110): `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func httpDate(_ date: Date) -> String {
        let (days, secondOfDay) = floorDivision(Int64(date.timeIntervalSince1970.rounded(.down)), 86_400)
        let (year, month, day) = civil(fromDays: days)
        let weekday = Int(floorDivision(days + 4, 7).remainder)  // 1970-01-01 was a Thursday
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[weekday]), \(two(day)) \(months[Int(month) - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func foundationFormat(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false, timeZone: .gmt))
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }

    /// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`).
    private static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = floorDivision(shifted, 146_097).quotient
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Parses `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM|±HHMM)`; a bare date `YYYY-MM-DD` is midnight UTC.
    public static func parse(_ text: String) -> Date? {
        let chars = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= chars.count else { return nil }
            var value = 0
            for offset in 0..<digits {
                let c = chars[index + offset]
                guard c >= 48, c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
            }
            index += digits
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard index < chars.count, chars[index] == c else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2) else { return nil }
        var hour = 0
        var minute = 0
        var second = 0
        var nanos = 0
        var offsetSeconds = 0
        if index == chars.count {
            return make(year, month, day, 0, 0, 0, 0, 0)
        }
        guard expect(84) || expect(116) || expect(32) else { return nil }  // T, t or space
        guard let h = number(2), expect(58), let m = number(2) else { return nil }
        hour = h
        minute = m
        if expect(58) {
            guard let s = number(2) else { return nil }
            second = s
            if expect(46) {
                var digits = 0
                var fraction = 0
                while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                    if digits < 9 {
                        fraction = fraction * 10 + Int(chars[index] - 48)
                        digits += 1
                    }
                    index += 1
                }
                guard digits > 0 else { return nil }
                for _ in digits..<9 { fraction *= 10 }
                nanos = fraction
            }
        }
        if expect(90) || expect(122) {  // Z or z
            offsetSeconds = 0
        } else {
            let sign: Int
            if expect(43) { sign = 1 } else if expect(45) { sign = -1 } else { return nil }
            guard let oh = number(2) else { return nil }
            _ = expect(58)
            guard let om = number(2), oh <= 23, om <= 59 else { return nil }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        }
        guard index == chars.count else { return nil }
        return make(year, month, day, hour, minute, second, nanos, offsetSeconds)
    }

    private static func make(
        _ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int,
        _ nanos: Int, _ offset: Int
    ) -> Date? {
        guard (1...12).contains(month), (1...31).contains(day), hour <= 23, minute <= 59, second <= 60 else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let components = DateComponents(year: year, month: month, day: day)
        guard let midnight = calendar.date(from: components),
            calendar.component(.day, from: midnight) == day  // rejects 2024-02-31
        else { return nil }
        let seconds = Double(hour * 3600 + minute * 60 + second - offset) + Double(nanos) / 1e9
        return midnight.addingTimeInterval(seconds)
    }

    public static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    public static func date(milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
}
