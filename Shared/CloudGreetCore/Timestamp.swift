import Foundation

/// ISO 8601 times as the contract wants them: any offset accepted on input, UTC `Z` on output.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false, timeZone: .gmt))
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
