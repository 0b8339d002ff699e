/// `page` >= 1 (default 1), `limit` 1...100 (default 20, larger clamped to 100); anything else is a 422.
public struct Page: Sendable, Equatable {
    public var page: Int
    public var limit: Int
    public var offset: Int { (page - 1) * limit }

    public init(page: Int = 1, limit: Int = 20) {
        self.page = page
        self.limit = limit
    }

    public init(query: [String: String]) throws {
        var errors: [String: [String]] = [:]
        page = 1
        limit = 20
        if let raw = query["page"] {
            if let value = Int(raw), value >= 1, value <= 1_000_000 {
                page = value
            } else {
                errors["page"] = ["must be a whole number of at least 1"]
            }
        }
        if let raw = query["limit"] {
            if let value = Int(raw), value >= 1 {
                limit = min(value, 100)
            } else {
                errors["limit"] = ["must be a whole number between 1 and 100"]
            }
        }
        if !errors.isEmpty { throw APIError.validation(errors) }
    }

    /// The contract's list shape: `{"<plural>": [...], "pagination": {page, limit, total, pages}}`.
    public func list(_ plural: String, _ items: [JSONValue], total: Int) -> JSONValue {
        let pages = total == 0 ? 0 : (total + limit - 1) / limit
        return [
            plural: .array(items),
            "pagination": ["page": JSONValue(page), "limit": JSONValue(limit), "total": JSONValue(total), "pages": JSONValue(pages)],
        ]
    }
}

/// One page of a list and how many match in all: what every store returns for a list and every
/// list endpoint answers.
public struct Paged<Item: Sendable>: Sendable {
    public let items: [Item]
    public let total: Int
    public let page: Page

    public init(_ items: [Item], total: Int, page: Page) {
        self.items = items
        self.total = total
        self.page = page
    }

    public func map<T>(_ transform: (Item) throws -> T) rethrows -> Paged<T> {
        Paged<T>(try items.map(transform), total: total, page: page)
    }
}

extension Paged where Item: JSONRepresentable {
    /// The contract's list shape: `{"<plural>": [...], "pagination": {page, limit, total, pages}}`.
    public func json(_ plural: String) -> JSONValue { page.list(plural, items.map(\.json), total: total) }
}
