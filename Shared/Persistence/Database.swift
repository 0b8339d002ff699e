import CloudGreetCore
import Foundation
import Synchronization

/// A value bound into, or read out of, SQL. The schema keeps to types both engines share:
/// TEXT, BIGINT (times as Unix milliseconds, money as cents, booleans as 0/1) and DOUBLE PRECISION.
public enum SQLValue: Sendable, Hashable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(_ value: String?) { self = value.map { .text($0) } ?? .null }
    public init(_ value: Int?) { self = value.map { .int(Int64($0)) } ?? .null }
    public init(_ value: Int64?) { self = value.map { .int($0) } ?? .null }
    public init(_ value: Bool) { self = .int(value ? 1 : 0) }
    public init(_ date: Date?) { self = date.map { .int(Timestamp.milliseconds($0)) } ?? .null }
    public init(_ json: JSONValue) { self = .text(json.jsonString) }
}

public struct SQLRow: Sendable {
    /// A result's column names and their positions, made once and shared by its rows rather than
    /// a dictionary built for each row.
    public final class Columns: Sendable {
        let positions: [String: Int]

        public init(_ names: [String]) {
            var positions: [String: Int] = [:]
            for (position, name) in names.enumerated() { positions[name] = position }  // the last of a repeated name
            self.positions = positions
        }
    }

    let columns: Columns
    let cells: [SQLValue]

    public init(columns: Columns, cells: [SQLValue]) {
        self.columns = columns
        self.cells = cells
    }

    public init(_ values: [String: SQLValue]) {
        columns = Columns(Array(values.keys))
        cells = Array(values.values)
    }

    public subscript(column: String) -> SQLValue? {
        guard let position = columns.positions[column], position < cells.count else { return nil }
        return cells[position]
    }

    /// Every column by name.
    public var values: [String: SQLValue] { columns.positions.compactMapValues { $0 < cells.count ? cells[$0] : nil } }

    public func string(_ column: String) -> String? {
        switch self[column] {
        case .text(let value)?: value
        case .int(let value)?: String(value)
        case .double(let value)?: String(value)
        default: nil
        }
    }
    public func int(_ column: String) -> Int? {
        switch self[column] {
        case .int(let value)?: Int(value)
        case .double(let value)?: Int(value)
        case .text(let value)?: Int(value)
        default: nil
        }
    }
    public func double(_ column: String) -> Double? {
        switch self[column] {
        case .int(let value)?: Double(value)
        case .double(let value)?: value
        case .text(let value)?: Double(value)
        default: nil
        }
    }
    public func bool(_ column: String) -> Bool { int(column).map { $0 != 0 } ?? false }
    public func date(_ column: String) -> Date? { int(column).map { Timestamp.date(milliseconds: Int64($0)) } }
    public func json(_ column: String) -> JSONValue? { string(column).flatMap { try? JSONValue.decode(Data($0.utf8)) } }

    /// A NOT NULL column: a missing value is an error for the request, never a crash.
    public func required(_ column: String) throws -> String {
        guard let value = string(column) else { throw DatabaseError.missingColumn(column) }
        return value
    }

    /// A NOT NULL column holding one of an enum's raw values.
    public func required<Value: RawRepresentable>(_ column: String, as type: Value.Type) throws -> Value where Value.RawValue == String {
        guard let value = Value(rawValue: try required(column)) else { throw DatabaseError.missingColumn(column) }
        return value
    }

    public func requiredDate(_ column: String) throws -> Date {
        guard let value = date(column) else { throw DatabaseError.missingColumn(column) }
        return value
    }
}

public enum DatabaseError: Error, Sendable {
    /// A UNIQUE or PRIMARY KEY constraint refused the write.
    case uniqueViolation
    case unsupportedURL(String)
    /// A row lacked a column the schema declares NOT NULL.
    case missingColumn(String)
    /// A count that did not come back as an integer.
    case notAnInteger(String)
}

public enum Engine: String, Sendable { case sqlite, postgres }

/// Runs SQL written with `$1`, `$2`, ... placeholders on either engine.
public protocol SQLExecutor: Sendable {
    var engine: Engine { get }
    @discardableResult
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
}

extension SQLExecutor {
    @discardableResult
    public func query(_ sql: String) async throws -> [SQLRow] { try await query(sql, []) }
    public func first(_ sql: String, _ binds: [SQLValue] = []) async throws -> SQLRow? { try await query(sql, binds).first }
    public func count(_ sql: String, _ binds: [SQLValue] = []) async throws -> Int {
        guard let value = try await query(sql, binds).first?.cells.first else { return 0 }
        // Not a silent 0: PostgreSQL's SUM of a BIGINT is a NUMERIC, and must be cast back.
        guard case .int(let count) = value else { throw DatabaseError.notAnInteger(sql) }
        return Int(count)
    }
}

public protocol Database: SQLExecutor {
    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    func close() async
}

public enum DatabaseFactory {
    /// `sqlite:///path/file.sqlite`, `sqlite://relative/file.sqlite` or `postgres://user:pass@host:port/db`.
    public static func open(url: String, logLabel: String) async throws -> any Database {
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            return try await SQLiteDatabase.open(path: path)
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try await PostgresDatabase(url: url, logLabel: logLabel)
        }
        throw DatabaseError.unsupportedURL(url.split(separator: ":").first.map(String.init) ?? "")
    }
}

extension String {
    /// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
    public var likeEscaped: String {
        replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }
}

/// A WHERE clause built from optional filters, numbering the placeholders as it goes.
/// `add("status = ?", value)` becomes `status = $2` when it is the second bound value; every `?`
/// in one condition stands for the same value.
public struct SQLFilter: Sendable {
    public private(set) var conditions: [String] = []
    public private(set) var binds: [SQLValue] = []

    public init(_ condition: String, _ value: SQLValue) { add(condition, value) }

    public mutating func add(_ condition: String, _ value: SQLValue) {
        binds.append(value)
        conditions.append(condition.replacingOccurrences(of: "?", with: "$\(binds.count)"))
    }

    public mutating func add(_ condition: String, _ value: SQLValue?) {
        if let value { add(condition, value) }
    }

    /// `column` inside the half-open `range`, when there is one.
    public mutating func add(_ column: String, in range: Range<Date>?) {
        guard let range else { return }
        add("\(column) >= ?", SQLValue(range.lowerBound))
        add("\(column) < ?", SQLValue(range.upperBound))
    }

    /// `column` contains any of `values` as a substring (`LIKE`, with `%` and `_` taken literally);
    /// no condition when there are no values.
    public mutating func add(_ column: String, containingAnyOf values: [String]) {
        guard !values.isEmpty else { return }
        let matches = values.map { value in
            binds.append(.text("%\(value.likeEscaped)%"))
            return "\(column) LIKE $\(binds.count) ESCAPE '\\'"
        }
        conditions.append("(" + matches.joined(separator: " OR ") + ")")
    }

    public var sql: String { conditions.joined(separator: " AND ") }
}

/// Counts of a table's rows kept per bucket of the column its lists are ordered by, newest first
/// (by triggers, in the writes' transactions): a deep page skips whole buckets by their counts and
/// steps over the rows of one bucket only.
public final class Buckets: Sendable {
    /// The counts: the list filter's columns, `bucket` (`column / width`) and `n`.
    public let table: String
    public let column: String
    public let width: Int64
    /// The buckets' running counts last read per filter (SQL and binds), newest bucket first. A
    /// page checks the count it relies on in its own statement, so an out-of-date entry costs a
    /// new read, never a wrong page.
    private let starts = Mutex<[Filter: [Start]]>([:])

    /// A list filter as the memory is keyed: its SQL and its values.
    struct Filter: Hashable {
        let sql: String
        let binds: [SQLValue]
    }

    struct Start {
        let bucket: Int64
        /// Rows in newer buckets, and up to the end of this one.
        let newer: Int
        let upto: Int
    }

    public init(table: String, column: String, width: Int64) {
        self.table = table
        self.column = column
        self.width = width
    }

    /// The order of the lists the buckets serve.
    public var newestFirst: String { "\(column) DESC, id DESC" }

    func remembered(_ key: Filter) -> [Start]? { starts.withLock { $0[key] } }

    func remember(_ starts: [Start], for key: Filter) {
        self.starts.withLock { all in
            if all.count >= 1_000 { all.removeAll() }  // a bound, not a policy: entries are cheap to read again
            all[key] = starts
        }
    }
}

extension SQLExecutor {
    /// One page of the rows of `table` that match `filter`, in `order`, with how many match in all:
    /// what every list endpoint answers. `table` has an `id` key, and `order` ends with it.
    /// `counting` is a query for the total over the same binds (a kept count, say); by default the
    /// matching rows are counted. `buckets`, for their order (newest first), find where a deep page
    /// starts. `few` says the filter matches few rows through an index that is costly to search (a
    /// trigram search): they are then found once, for the page and the total.
    public func page(
        _ table: String, where filter: SQLFilter, orderBy order: String, _ page: Page, countedBy counting: String? = nil,
        buckets: Buckets? = nil, few: Bool = false
    ) async throws -> Paged<SQLRow> {
        if few {
            // The columns `order` names ("created_at DESC, id DESC"), which the matches keep.
            let columns = Set(order.split(separator: ",").compactMap { $0.split(separator: " ").first.map(String.init) })
            let rows = try await query(
                """
                WITH matched AS MATERIALIZED (SELECT \(columns.sorted().joined(separator: ", ")) FROM \(table) WHERE \(filter.sql))
                SELECT *, (SELECT COUNT(*) FROM matched) AS page_total FROM \(table) WHERE id IN (
                    SELECT id FROM matched ORDER BY \(order) LIMIT \(page.limit) OFFSET \(page.offset))
                ORDER BY \(order)
                """, filter.binds)
            return try await paged(rows, page, counting: "SELECT COUNT(*) FROM \(table) WHERE \(filter.sql)", filter.binds)
        }
        let counting = counting ?? "SELECT COUNT(*) FROM \(table) WHERE \(filter.sql)"
        if let buckets, page.offset >= Self.deepOffset, order == buckets.newestFirst,
            let deep = try await deepPage(table, where: filter, page, counting: counting, buckets: buckets)
        {
            return deep
        }
        // One round trip: the total comes with every row, as an uncorrelated subquery that both
        // engines run once. The page's ids come first, so that the rows skipped by OFFSET are
        // stepped over in the ordering index alone (it ends with `id`) and only the page's own rows
        // are read: the last page of 100,000 leads takes 8 ms in SQLite this way, 19 ms reading
        // every skipped row.
        let rows = try await query(
            """
            SELECT *, (\(counting)) AS page_total FROM \(table) WHERE id IN (
                SELECT id FROM \(table) WHERE \(filter.sql) ORDER BY \(order) LIMIT \(page.limit) OFFSET \(page.offset))
            ORDER BY \(order)
            """,
            filter.binds)
        return try await paged(rows, page, counting: counting, filter.binds)
    }

    /// From this offset on, a page with kept buckets starts from its bucket.
    static var deepOffset: Int { 1000 }

    /// A deep page read from the bucket holding its first row: the buckets' running counts, newest
    /// first, say which bucket that is and how many newer rows there are; the page then steps over
    /// the rest of the offset inside that bucket only, from whichever end of it is nearer. The
    /// middle page of 100,000 leads a minute apart steps over at most 720 index entries instead
    /// of 50,000. The running counts are remembered until a page finds that they changed (a lead
    /// was added, say). Nil when rows came or went under the page while it was read (then it is
    /// read as usual).
    private func deepPage(
        _ table: String, where filter: SQLFilter, _ page: Page, counting: String, buckets: Buckets
    ) async throws -> Paged<SQLRow>? {
        let key = Buckets.Filter(sql: filter.sql, binds: filter.binds)
        if let starts = buckets.remembered(key), let start = starts.first(where: { $0.upto > page.offset }),
            let paged = try await bucketPage(table, where: filter, page, counting: counting, buckets: buckets, from: start, of: starts)
        {
            return paged
        }
        let starts = try await query(
            """
            SELECT bucket, CAST(SUM(n) OVER (ORDER BY bucket DESC) AS BIGINT) AS upto FROM (
                SELECT bucket, SUM(n) AS n FROM \(buckets.table) WHERE \(filter.sql) GROUP BY bucket) sums
            ORDER BY bucket DESC
            """, filter.binds
        ).reduce(into: [Buckets.Start]()) { starts, row in
            guard let bucket = row.int("bucket"), let upto = row.int("upto") else { return }
            starts.append(Buckets.Start(bucket: Int64(bucket), newer: starts.last?.upto ?? 0, upto: upto))
        }
        buckets.remember(starts, for: key)
        guard let start = starts.first(where: { $0.upto > page.offset }) else {
            // No bucket reaches the offset: past the last page.
            let total = try await count(counting, filter.binds)
            return page.offset >= total ? Paged([], total: total, page: page) : nil
        }
        return try await bucketPage(table, where: filter, page, counting: counting, buckets: buckets, from: start, of: starts)
    }

    /// The page read from `start`'s bucket, when the rows in newer buckets (and in the bucket itself,
    /// read from its far end) are still as many as `start` says, which the page's own statement
    /// checks: then the rows before the bucket's end are exactly those from position `start.newer`
    /// on, and the page is exact.
    private func bucketPage(
        _ table: String, where filter: SQLFilter, _ page: Page, counting: String, buckets: Buckets, from start: Buckets.Start,
        of starts: [Buckets.Start]
    ) async throws -> Paged<SQLRow>? {
        // Division rounds toward zero, so bucket 0 spans both sides of 0 and the ones below run the
        // other way: only buckets past 0 are the half-open spans the bounds below assume.
        let (low, lowOverflow) = start.bucket.multipliedReportingOverflow(by: buckets.width)
        let (end, endOverflow) = low.addingReportingOverflow(buckets.width)
        guard start.bucket > 0, !lowOverflow, !endOverflow, start.newer <= page.offset else { return nil }
        let (column, counts) = (buckets.column, "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM \(buckets.table) WHERE \(filter.sql)")
        let skipped = page.offset - start.newer  // the bucket's rows before the page
        let after = start.upto - page.offset - page.limit  // and after it, when it ends in the bucket
        // `LIMIT`, `OFFSET` and the bucket's bounds are numbers, not worked out in the statement:
        // PostgreSQL plans a scan of the whole table for a limit it cannot know.
        let reversed = after >= 0 && after < skipped
        let ids =
            reversed
            ? "SELECT id FROM \(table) WHERE \(filter.sql) AND \(column) >= \(low) AND \(column) < \(end) ORDER BY \(column), id LIMIT \(page.limit) OFFSET \(after)"
            : "SELECT id FROM \(table) WHERE \(filter.sql) AND \(column) < \(end) ORDER BY \(buckets.newestFirst) LIMIT \(page.limit) OFFSET \(skipped)"
        // The counts checked, each summed over the fewer buckets: rows newer than the bucket and,
        // read from its far end, up to its end.
        let total = starts.last?.upto ?? 0
        let newer = start.newer * 2 < total ? "(\(counts) AND bucket > \(start.bucket))" : "(\(counting)) - (\(counts) AND bucket <= \(start.bucket))"
        let upto = start.upto * 2 < total ? "(\(counts) AND bucket >= \(start.bucket))" : "(\(counting)) - (\(counts) AND bucket < \(start.bucket))"
        let rows = try await query(
            """
            SELECT *, (\(counting)) AS page_total, \(newer) AS page_newer\(reversed ? ", \(upto) AS page_upto" : "")
            FROM \(table) WHERE id IN (\(ids)) ORDER BY \(buckets.newestFirst)
            """,
            filter.binds)
        guard case .int(let pageTotal)? = rows.first?["page_total"], rows.first?["page_newer"] == .int(Int64(start.newer)),
            !reversed || rows.first?["page_upto"] == .int(Int64(start.upto))
        else { return nil }
        return Paged(rows, total: Int(pageTotal), page: page)
    }

    /// The rows with the total they carry; past the last page there is no row to carry it.
    private func paged(_ rows: [SQLRow], _ page: Page, counting: String, _ binds: [SQLValue]) async throws -> Paged<SQLRow> {
        guard let first = rows.first else { return Paged([], total: try await count(counting, binds), page: page) }
        guard case .int(let total)? = first["page_total"] else { throw DatabaseError.notAnInteger(counting) }
        return Paged(rows, total: Int(total), page: page)
    }
}
