import Foundation

/// Query strings read as HTML forms send them (API-CONTRACT.md section 2): `+` is a space and
/// `%XX` a byte, so `search=Alpha+Plumbing` and `search=Alpha%20Plumbing` mean the same.
public enum FormQuery {
    public struct Parsed: Sendable, Equatable {
        /// Each name's value (the first one, when a name is repeated).
        public var values: [String: String]
        /// Names that appear more than once, in the order first repeated.
        public var repeated: [String]
    }

    public static func parse(_ query: String?) -> Parsed {
        var parsed = Parsed(values: [:], repeated: [])
        for pair in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(parts[parts.startIndex])
            let value = parts.count > 1 ? decode(parts[parts.index(after: parts.startIndex)]) : ""
            if parsed.values[name] == nil {
                parsed.values[name] = value
            } else if !parsed.repeated.contains(name) {
                parsed.repeated.append(name)
            }
        }
        return parsed
    }

    /// `+` becomes a space before percent-decoding, so `%2B` stays a plus. Malformed escapes are kept as sent.
    static func decode(_ component: Substring) -> String {
        let spaced = component.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
