import CloudGreetCore
import Foundation
import NIOPosix
import SQLiteNIO

/// One SQLite connection, used by one request at a time (SQLite has one writer anyway). The actor
/// hands the connection out in FIFO order so a transaction's statements never interleave with others'.
public actor SQLiteDatabase: Database {
    public nonisolated let engine = Engine.sqlite
    private let connection: SQLiteConnection
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    private init(connection: SQLiteConnection) { self.connection = connection }

    deinit {
        // sqlite-nio insists on an explicit close; the future keeps the connection alive until done.
        _ = connection.close()
    }

    public static func open(path: String) async throws -> SQLiteDatabase {
        let storage: SQLiteConnection.Storage
        if path == ":memory:" || path.isEmpty {
            storage = .memory
        } else {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            storage = .file(path: path)
        }
        let connection = try await SQLiteConnection.open(storage: storage)
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=5000", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"] {
            _ = try await connection.query(pragma, [])
        }
        return SQLiteDatabase(connection: connection)
    }

    private func acquire() async {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
    }

    private func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }

    @discardableResult
    public func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        await acquire()
        defer { release() }
        return try await Self.run(connection, sql, binds)
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        _ = try await connection.query("BEGIN IMMEDIATE", [])
        do {
            let result = try await body(Locked(connection: connection))
            _ = try await connection.query("COMMIT", [])
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK", [])
            throw error
        }
    }

    public func close() async {
        try? await connection.close()
    }

    /// The connection as seen from inside a transaction, which already holds it.
    private struct Locked: SQLExecutor {
        let connection: SQLiteConnection
        var engine: Engine { .sqlite }
        func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
            try await SQLiteDatabase.run(connection, sql, binds)
        }
    }

    fileprivate static func run(_ connection: SQLiteConnection, _ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        let data: [SQLiteData] = binds.map {
            switch $0 {
            case .null: .null
            case .int(let value): .integer(Int(value))
            case .double(let value): .float(value)
            case .text(let value): .text(value)
            }
        }
        do {
            let rows = try await connection.query(numberedPlaceholders(sql), data)
            return rows.map { row in
                var values: [String: SQLValue] = [:]
                for column in row.columns {
                    switch column.data {
                    case .integer(let value): values[column.name] = .int(Int64(value))
                    case .float(let value): values[column.name] = .double(value)
                    case .text(let value): values[column.name] = .text(value)
                    case .blob(let buffer): values[column.name] = .text(String(buffer: buffer))
                    case .null: values[column.name] = .null
                    }
                }
                return SQLRow(values)
            }
        } catch let error as SQLiteError where error.reason == .constraintUniqueFailed || error.reason == .constraintPrimaryKeyFailed
            || (error.reason == .constraint && error.message.contains("UNIQUE"))
        {
            throw DatabaseError.uniqueViolation
        }
    }

    /// `$1` becomes `?1`: SQLite's numbered parameter, so the same SQL text serves both engines.
    static func numberedPlaceholders(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count)
        var inString = false
        for character in sql {
            if character == "'" { inString.toggle() }
            output.append(character == "$" && !inString ? "?" : character)
        }
        return output
    }
}
