import Foundation

/// Encodes an `Encodable` model straight into a `JSONValue`, so models can use synthesized
/// `Encodable` with snake_case `CodingKeys` instead of hand-written dictionaries. Unlike
/// `JSONEncoder`, a nil optional is written as an explicit `null`: the contract shows every field
/// of a resource, set or not. Dates are written as `Timestamp.format` (UTC, `Z`).
public enum JSONValueEncoder {
    public static func encode(_ value: some Encodable) throws -> JSONValue {
        let node = Node()
        try node.store(value, codingPath: [])
        return node.json
    }
}

extension JSONRepresentable where Self: Encodable {
    /// A model's JSON through its `Encodable` conformance. Encoding into `JSONValue` only fails if a
    /// hand-written `encode(to:)` throws, which none of ours do; such a value reads as null.
    public var json: JSONValue { (try? JSONValueEncoder.encode(self)) ?? .null }
}

/// One value being built: a leaf, or an object or array whose children are still being written
/// (containers hold the node by reference, as `Encoder` requires).
private final class Node {
    var leaf: JSONValue = .null
    var object: [String: Node]?
    var array: [Node]?

    var json: JSONValue {
        if let object { return .object(object.mapValues(\.json)) }
        if let array { return .array(array.map(\.json)) }
        return leaf
    }

    func store<Value: Encodable>(_ value: Value, codingPath: [any CodingKey]) throws {
        // Compared by type, not cast: a dynamic cast per value cost more than the rest of a list's
        // encoding. The bit casts are between a type and itself.
        if Value.self == Date.self {
            leaf = .string(Timestamp.format(unsafeBitCast(value, to: Date.self)))
        } else if Value.self == JSONValue.self {
            leaf = unsafeBitCast(value, to: JSONValue.self)
        } else if Value.self == URL.self {
            leaf = .string(unsafeBitCast(value, to: URL.self).absoluteString)
        } else {
            try value.encode(to: NodeEncoder(node: self, codingPath: codingPath))
        }
    }

    func child(_ key: String) -> Node {
        if object == nil { object = [:] }
        let node = Node()
        object?[key] = node
        return node
    }

    func appended() -> Node {
        if array == nil { array = [] }
        let node = Node()
        array?.append(node)
        return node
    }
}

private struct NodeEncoder: Encoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.object == nil { node.object = [:] }
        return KeyedEncodingContainer(KeyedNodeContainer(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.array == nil { node.array = [] }
        return UnkeyedNodeContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleNodeContainer(node: node, codingPath: codingPath) }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.child(key.stringValue).leaf = .null }
    // The common leaves directly, without the generic path's encoder and container for each one.
    // The coding path is not extended per field: nothing here throws, so nothing would read it.
    mutating func encode(_ value: String, forKey key: Key) throws { node.child(key.stringValue).leaf = .string(value) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { node.child(key.stringValue).leaf = .bool(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { node.child(key.stringValue).leaf = .number(Double(value)) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { node.child(key.stringValue).leaf = .number(Double(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { node.child(key.stringValue).leaf = .number(value) }
    mutating func encode(_ value: some Encodable, forKey key: Key) throws {
        try node.child(key.stringValue).store(value, codingPath: codingPath)
    }

    // Synthesized conformances skip nil optionals through these; the contract wants them as null.
    mutating func encodeIfPresent(_ value: (some Encodable)?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { node.child(key.stringValue).leaf = value.map(JSONValue.bool) ?? .null }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        node.child(key.stringValue).leaf = value.map(JSONValue.string) ?? .null
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        node.child(key.stringValue).leaf = value.map(JSONValue.number) ?? .null
    }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        node.child(key.stringValue).leaf = value.map { .number(Double($0)) } ?? .null
    }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try encodeOptional(value, key) }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try encodeOptional(value, key) }

    private mutating func encodeOptional(_ value: (some Encodable)?, _ key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    )
        -> KeyedEncodingContainer<NestedKey>
    {
        NodeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NodeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.child("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
        NodeEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]
    var count: Int { node.array?.count ?? 0 }

    mutating func encodeNil() throws { node.appended().leaf = .null }
    mutating func encode(_ value: some Encodable) throws { try node.appended().store(value, codingPath: codingPath) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        NodeEncoder(node: node.appended(), codingPath: codingPath).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        NodeEncoder(node: node.appended(), codingPath: codingPath).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { NodeEncoder(node: node.appended(), codingPath: codingPath) }
}

private struct SingleNodeContainer: SingleValueEncodingContainer {
    let node: Node
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.leaf = .null }
    mutating func encode(_ value: Bool) throws { node.leaf = .bool(value) }
    mutating func encode(_ value: String) throws { node.leaf = .string(value) }
    mutating func encode(_ value: Double) throws { node.leaf = .number(value) }
    mutating func encode(_ value: Float) throws { node.leaf = .number(Double(value)) }
    mutating func encode(_ value: Int) throws { node.leaf = .number(Double(value)) }
    mutating func encode(_ value: Int8) throws { node.leaf = .number(Double(value)) }
    mutating func encode(_ value: Int16) throws { node.leaf = .number(Double(value)) }
    mutating func encode(_ value: Int32) throws { node.leaf = .number(Double(value)) }
    mutating func encode(_ value: Int64) throws { node.leaf = .number(Double(value)) }
    mutating func encode(_ value: UInt) throws { node.leaf = .number(Double(value)) }
    mutating func encode(_ value: UInt8) throws { node.leaf = .number(Double(value)) }
    mutating func encode(_ value: UInt16) throws { node.leaf = .number(Double(value)) }
    mutating func encode(_ value: UInt32) throws { node.leaf = .number(Double(value)) }
    mutating func encode(_ value: UInt64) throws { node.leaf = .number(Double(value)) }
    mutating func encode(_ value: some Encodable) throws { try node.store(value, codingPath: codingPath) }
}
