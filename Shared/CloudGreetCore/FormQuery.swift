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

    /// A query string from names and values, each percent-encoded so that `+`, `&` and `=` in a value
    /// (a `+01:00` offset, say) arrive as sent.
    public static func encode(_ items: [(String, String)]) -> String {
        items.map { name, value in percentEncoded(name) + "=" + percentEncoded(value) }.joined(separator: "&")
    }

    /// Every byte but RFC 3986's unreserved ASCII characters percent-encoded: safe as a path segment
    /// or a query value. (`CharacterSet.alphanumerics` would let non-ASCII letters through raw.)
    public static func percentEncoded(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// A path segment: as `percentEncoded`, but `:` and `@` stay as they are (RFC 3986 allows them in
    /// a segment, and Telnyx's call control ids are `v3:...`).
    public static func pathSegment(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: segment) ?? ""
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    private static let segment = unreserved.union(CharacterSet(charactersIn: ":@"))

    /// `+` becomes a space before percent-decoding, so `%2B` stays a plus. Malformed escapes are kept as sent.
    static func decode(_ component: Substring) -> String {
        let spaced = component.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
