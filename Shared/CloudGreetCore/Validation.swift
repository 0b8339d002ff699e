import Foundation

/// Reads fields out of a JSON object, collecting every problem so that a 422 names all bad fields.
/// Nested objects use dotted names (`settings.timezone`).
public final class FieldReader {
    public let object: [String: JSONValue]
    private let prefix: String
    private let sink: ErrorSink

    final class ErrorSink { var errors: [String: [String]] = [:] }

    public convenience init(_ body: JSONValue) throws {
        guard case .object(let object) = body else { throw APIError.badJSON() }
        self.init(object: object, prefix: "", sink: ErrorSink())
    }

    /// A query string's parameters, read with the same checks and the same one 422.
    public convenience init(query: [String: String]) {
        self.init(object: query.mapValues(JSONValue.string), prefix: "", sink: ErrorSink())
    }

    init(object: [String: JSONValue], prefix: String, sink: ErrorSink) {
        self.object = object
        self.prefix = prefix
        self.sink = sink
    }

    public func has(_ key: String) -> Bool { object[key] != nil }
    public func name(_ key: String) -> String { prefix + key }

    public func fail(_ key: String, _ message: String) {
        sink.errors[name(key), default: []].append(message)
    }

    public var errors: [String: [String]] { sink.errors }

    /// Throws the collected 422, if any problem was recorded.
    public func finish() throws {
        if !sink.errors.isEmpty { throw APIError.validation(sink.errors) }
    }

    /// The value of a required field once `finish()` has passed: a nil here (a field read without
    /// `required: true`) is answered as a 422 naming it, never a crash.
    public func present<T>(_ value: T?, _ key: String) throws -> T {
        guard let value else {
            fail(key, "is required")
            throw APIError.validation(sink.errors)
        }
        return value
    }

    /// A string field. Empty strings after trimming count as missing. One-line fields (names,
    /// subjects) refuse every control character; `multiline` ones (notes, message bodies) allow
    /// line breaks and tabs. NUL is refused everywhere: PostgreSQL cannot store it.
    public func string(_ key: String, required: Bool = false, maxLength: Int = 1000, multiline: Bool = false) -> String? {
        switch object[key] {
        case nil, .null?:
            if required { fail(key, "is required") }
            return nil
        case .string(let raw)?:
            let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if value.isEmpty {
                if required { fail(key, "must not be empty") }
                return nil
            }
            if value.count > maxLength {
                fail(key, "must be at most \(maxLength) characters")
                return nil
            }
            if value.unicodeScalars.contains(where: { Self.isRefusedControl($0, multiline: multiline) }) {
                fail(
                    key,
                    multiline
                        ? "must not contain control characters other than line breaks and tabs"
                        : "must not contain control characters or line breaks")
                return nil
            }
            return value
        default:
            fail(key, "must be a string")
            return nil
        }
    }

    /// A password or token: taken exactly as sent, never trimmed.
    public func secret(_ key: String, required: Bool = false, maxLength: Int = 1000) -> String? {
        switch object[key] {
        case nil, .null?:
            if required { fail(key, "is required") }
            return nil
        case .string(let value)?:
            if value.isEmpty, required {
                fail(key, "must not be empty")
                return nil
            }
            if value.count > maxLength {
                fail(key, "must be at most \(maxLength) characters")
                return nil
            }
            return value
        default:
            fail(key, "must be a string")
            return nil
        }
    }

    static func isRefusedControl(_ scalar: Unicode.Scalar, multiline: Bool) -> Bool {
        guard scalar.properties.generalCategory == .control else { return false }
        return !(multiline && (scalar == "\n" || scalar == "\r" || scalar == "\t"))
    }

    /// A resource id of `kind` (`lead_` + ULID). Anything else is a 422, so an id never carries
    /// path or query syntax into another service's URL.
    public func id(_ key: String, _ kind: ResourceID.Kind, required: Bool = false) -> String? {
        guard let value = string(key, required: required, maxLength: 64) else { return nil }
        guard ResourceID.isValid(value, kind: kind) else {
            fail(key, "is not a valid \(kind.rawValue) id")
            return nil
        }
        return value
    }

    public func oneOf(_ key: String, _ allowed: [String], required: Bool = false) -> String? {
        guard let value = string(key, required: required) else { return nil }
        guard allowed.contains(value) else {
            fail(key, "must be one of: \(allowed.joined(separator: ", "))")
            return nil
        }
        return value
    }

    /// One of an enum's raw values.
    public func oneOf<Value: RawRepresentable & CaseIterable>(_ key: String, _ type: Value.Type, required: Bool = false) -> Value?
    where Value.RawValue == String {
        oneOf(key, Value.allCases.map(\.rawValue), required: required).flatMap(Value.init(rawValue:))
    }

    public func bool(_ key: String, required: Bool = false) -> Bool? {
        switch object[key] {
        case nil, .null?:
            if required { fail(key, "is required") }
            return nil
        case .bool(let value)?: return value
        default:
            fail(key, "must be a boolean")
            return nil
        }
    }

    public func int(_ key: String, required: Bool = false, range: ClosedRange<Int>? = nil) -> Int? {
        switch object[key] {
        case nil, .null?:
            if required { fail(key, "is required") }
            return nil
        case .number?:
            guard let value = object[key]?.intValue else {
                fail(key, "must be a whole number")
                return nil
            }
            if let range, !range.contains(value) {
                fail(key, "must be between \(range.lowerBound) and \(range.upperBound)")
                return nil
            }
            return value
        default:
            fail(key, "must be a number")
            return nil
        }
    }

    public func double(_ key: String, required: Bool = false, range: ClosedRange<Double>) -> Double? {
        switch object[key] {
        case nil, .null?:
            if required { fail(key, "is required") }
            return nil
        case .number(let value)?:
            guard range.contains(value) else {
                fail(key, "must be between \(range.lowerBound) and \(range.upperBound)")
                return nil
            }
            return value
        default:
            fail(key, "must be a number")
            return nil
        }
    }

    public func email(_ key: String, required: Bool = false) -> String? {
        guard let raw = string(key, required: required, maxLength: 254) else { return nil }
        guard let email = Contact.normalizeEmail(raw) else {
            fail(key, "must be a valid email address")
            return nil
        }
        return email
    }

    public func phone(_ key: String, required: Bool = false, defaultCountryCode: String) -> String? {
        guard let raw = string(key, required: required, maxLength: 40) else { return nil }
        guard let phone = Contact.normalizePhone(raw, defaultCountryCode: defaultCountryCode) else {
            fail(key, "must be a valid phone number")
            return nil
        }
        return phone
    }

    public func date(_ key: String, required: Bool = false) -> Date? {
        guard let raw = string(key, required: required, maxLength: 64) else { return nil }
        guard let date = Timestamp.parse(raw) else {
            fail(key, "must be an ISO 8601 date-time")
            return nil
        }
        return date
    }

    /// A nested object, read with the same error collection and a dotted prefix.
    public func nested(_ key: String, required: Bool = false) -> FieldReader? {
        switch object[key] {
        case nil, .null?:
            if required { fail(key, "is required") }
            return nil
        case .object(let inner)?:
            return FieldReader(object: inner, prefix: name(key) + ".", sink: sink)
        default:
            fail(key, "must be an object")
            return nil
        }
    }
}
