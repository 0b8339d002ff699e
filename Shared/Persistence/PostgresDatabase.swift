import CloudGreetCore
import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// PostgreSQL through postgres-nio's pooled `PostgresClient`.
public final class PostgresDatabase: Database {
    public let engine = Engine.postgres
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger

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
            try await Self.collect(client.query(Self.makeQuery(sql, binds), logger: logger))
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
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            switch bind {
            case .null: bindings.appendNull()
            case .int(let value): bindings.append(value)
            case .double(let value): bindings.append(value)
            case .text(let value): bindings.append(value)
            }
        }
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    fileprivate static func collect(_ rows: PostgresRowSequence) async throws -> [SQLRow] {
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
