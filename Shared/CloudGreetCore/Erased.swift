/// A required text column of a record that outlives the person it names (a call's phone, a
/// message's text): erasing the person stores it empty, since the column stays NOT NULL, and
/// clients see `null`, never an empty string posing as a value.
@propertyWrapper
public struct ErasedWhenEmpty: Sendable, Equatable, Encodable {
    public var wrappedValue: String

    public init(wrappedValue: String) { self.wrappedValue = wrappedValue }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if wrappedValue.isEmpty { try container.encodeNil() } else { try container.encode(wrappedValue) }
    }
}
