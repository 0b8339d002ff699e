import CloudGreetCore
import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Synchronization

/// PostgreSQL through postgres-nio's pooled `PostgresClient`.
public final class PostgresDatabase: Database {
    public let engine = Engine.postgres
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    private let statements = PreparedStatements()

    /// Twice the cores, as PostgreSQL's wiki advises: each connection is a server process, and
    /// more of them busy than cores only queue in the kernel's scheduler, which is not first come
    /// first served. With 10 on two cores, a 20-lead list at 16 connections had a p99 of 19.5 ms;
    /// with 4, 11.9 ms at the same throughput (docs/BENCHMARKS.md).
    static var defaultPoolSize: Int { max(2, 2 * ProcessInfo.processInfo.activeProcessorCount) }

    public init(url: String, logLabel: String) async throws {
        guard let components = URLComponents(string: url), let host = components.host else {
            throw DatabaseError.unsupportedURL("postgres")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] {
        case "require", "verify-full", "verify-ca": tls = .require(.makeClientConfiguration())
        case "prefer": tls = .prefer(.makeClientConfiguration())
        default: tls = .disable
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432,
            username: components.user?.removingPercentEncoding ?? "postgres",
            password: components.password?.removingPercentEncoding,
            database: String(components.path.dropFirst()).nilIfEmpty, tls: tls)
        configuration.options.maximumConnections = Int(query["pool_size"] ?? "") ?? Self.defaultPoolSize
        configuration.options.connectTimeout = .seconds(5)
        logger = Logger(label: logLabel)
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let client = self.client
        // Queries wait for `run()`; seeing it start before returning keeps the pool from warning.
        let (started, signal) = AsyncStream<Void>.makeStream()
        runner = Task {
            signal.finish()
            await client.run()
        }
        for await _ in started {}
    }

    @discardableResult
    public func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await Self.translatingErrors {
            let statement = PreparedStatements.Key(sql: sql, binds: binds)
            guard let name = statements.name(for: statement) else {
                return try await Self.collect(client.query(Self.makeQuery(sql, binds), logger: logger))
            }
            do {
                return try await NamedStatement.$current.withValue(.init(name: name, sql: sql)) {
                    try await Self.collect(client.execute(NamedStatement(bindings: Self.bindings(binds)), logger: logger))
                }
            } catch let error as PSQLError where PreparedStatements.isStale(error) {
                // Prepared before a migration changed what it reads, or lost behind a pooler: run it
                // as written.
                statements.forget(statement, after: error)
                return try await Self.collect(client.query(Self.makeQuery(sql, binds), logger: logger))
            }
        }
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await Self.translatingErrors {
            try await client.withConnection { connection in
                let executor = Connection(connection: connection, logger: logger)
                try await executor.query("BEGIN")
                do {
                    let result = try await body(executor)
                    try await executor.query("COMMIT")
                    return result
                } catch {
                    _ = try? await executor.query("ROLLBACK")
                    throw error
                }
            }
        }
    }

    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    private struct Connection: SQLExecutor {
        let connection: PostgresConnection
        let logger: Logger
        var engine: Engine { .postgres }
        func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
            try await PostgresDatabase.translatingErrors {
                try await PostgresDatabase.collect(connection.query(PostgresDatabase.makeQuery(sql, binds), logger: logger))
            }
        }
    }

    fileprivate static func makeQuery(_ sql: String, _ binds: [SQLValue]) -> PostgresQuery {
        PostgresQuery(unsafeSQL: sql, binds: bindings(binds))
    }

    private static func bindings(_ binds: [SQLValue]) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            switch bind {
            case .null: bindings.appendNull()
            case .int(let value): bindings.append(value)
            case .double(let value): bindings.append(value)
            case .text(let value): bindings.append(value)
            }
        }
        return bindings
    }

    fileprivate static func collect<Rows: AsyncSequence>(_ rows: Rows) async throws -> [SQLRow] where Rows.Element == PostgresRow {
        var result: [SQLRow] = []
        var columns: SQLRow.Columns?
        for try await row in rows {
            var cells: [SQLValue] = []
            cells.reserveCapacity(row.count)
            for cell in row {
                guard cell.bytes != nil else {
                    cells.append(.null)
                    continue
                }
                switch cell.dataType {
                case .int2, .int4, .int8: cells.append(.int(try cell.decode(Int64.self)))
                case .float4, .float8: cells.append(.double(try cell.decode(Double.self)))
                // Sums and averages of integers: their value, whole or not (read as text it was binary).
                case .numeric: cells.append(.double(NSDecimalNumber(decimal: try cell.decode(Decimal.self)).doubleValue))
                case .bool: cells.append(.int(try cell.decode(Bool.self) ? 1 : 0))
                default: cells.append(.text(try cell.decode(String.self)))
                }
            }
            let shared = columns ?? SQLRow.Columns(row.map(\.columnName))
            columns = shared
            result.append(SQLRow(columns: shared, cells: cells))
        }
        return result
    }

    fileprivate static func translatingErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw DatabaseError.uniqueViolation
        }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

/// Which statements run prepared, under which name. PostgreSQL plans an unnamed statement on every
/// run; a prepared one once per connection (pgbench, the 20-lead page at 16 connections: 5,500 runs
/// a second planned each time, 17,300 prepared). postgres-nio prepares a named statement on each
/// connection the first time it runs there, and keeps it for the connection's life, so names go to
/// statements that run again, a bounded number of them (as Npgsql's automatic preparation does).
final class PreparedStatements: Sendable {
    /// A statement's text and the kinds of its values: PostgreSQL types a prepared statement's
    /// parameters once, from the values it was prepared with.
    struct Key: Hashable, Sendable {
        let sql: String
        let kinds: [UInt8]

        init(sql: String, binds: [SQLValue]) {
            self.sql = sql
            kinds = binds.map { value in
                switch value {
                case .null: 0
                case .int: 1
                case .double: 2
                case .text: 3
                }
            }
        }
    }

    private struct State {
        var runs: [Key: Int] = [:]
        var names: [Key: String] = [:]
        var next = 0
        var off = false
    }

    private let state = Mutex(State())
    /// Statements prepared at most: each connection keeps each one it ran, with its plan.
    static var capacity: Int { 200 }

    /// The statement's name when it runs prepared: from its second run on, while there is room.
    /// Nil for a statement with a pattern, whose best plan depends on the pattern (the trigram
    /// index helps only when it has three characters), so it is planned on each run.
    func name(for key: Key) -> String? {
        state.withLock { state in
            if let name = state.names[key] { return name }
            guard !state.off else { return nil }
            // On the bytes: Foundation's `contains` cost more than the rest of a list's query here.
            guard state.names.count < Self.capacity, key.sql.utf8.firstRange(of: "LIKE".utf8) == nil else { return nil }
            let runs = state.runs[key, default: 0] + 1
            guard runs >= 2 else {
                if state.runs.count >= 10 * Self.capacity { state.runs.removeAll() }  // a bound, not a policy
                state.runs[key] = runs
                return nil
            }
            state.runs[key] = nil
            let name = "cloudgreet_\(state.next)"
            state.next += 1
            state.names[key] = name
            return name
        }
    }

    /// A later run prepares the statement again, under a new name; or, when the server did not
    /// know the name, none is prepared any more: a pooler between (PgBouncer in transaction mode)
    /// hands each statement to whichever server connection is free, where it was never prepared.
    func forget(_ key: Key, after error: PSQLError) {
        state.withLock { state in
            if error.serverInfo?[.sqlState] == Self.unknownName {
                state.off = true
                state.names.removeAll()
            } else {
                state.names[key] = nil
            }
        }
    }

    /// The prepared statement no longer fits the schema: its columns changed (0A000, "cached plan
    /// must not change result type"), or it was prepared before a table or column it names existed
    /// (class 42, kept by postgres-nio as the statement's answer on that connection); or the server
    /// does not know it (26000).
    static func isStale(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state == "0A000" || state.hasPrefix("42") || state == unknownName
    }

    private static var unknownName: String { "26000" }
}

/// A named statement as postgres-nio takes it: its name and text are the type's, so they are read
/// from the task that runs it.
private struct NamedStatement: PostgresPreparedStatement {
    struct Current: Sendable {
        let name: String
        let sql: String
    }

    @TaskLocal static var current = Current(name: "", sql: "")
    static var name: String { current.name }
    static var sql: String { current.sql }

    let bindings: PostgresBindings

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}
