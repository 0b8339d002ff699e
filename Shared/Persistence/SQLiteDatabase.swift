import CloudGreetCore
import Foundation
import NIOPosix
import SQLiteNIO

/// SQLite in WAL mode: one writer connection, handed to one statement or transaction at a time
/// in FIFO order (SQLite has one writer anyway, and a transaction's statements must not
/// interleave with others'), and a few read-only connections for plain SELECTs, which WAL lets run
/// beside the writer and each other.
public actor SQLiteDatabase: Database {
    public nonisolated let engine = Engine.sqlite
    private let writer: SQLiteConnection
    private var writerBusy = false
    private var writerWaiters: [CheckedContinuation<Void, Never>] = []
    private let readers: [SQLiteConnection]
    private var idleReaders: [SQLiteConnection]
    private var readerWaiters: [CheckedContinuation<SQLiteConnection, Never>] = []

    private init(writer: SQLiteConnection, readers: [SQLiteConnection]) {
        self.writer = writer
        self.readers = readers
        idleReaders = readers
    }

    deinit {
        // sqlite-nio insists on an explicit close; the future keeps the connection alive until done.
        for connection in [writer] + readers { _ = connection.close() }
    }

    public static func open(path: String, readers: Int = 2) async throws -> SQLiteDatabase {
        guard path != ":memory:", !path.isEmpty else {
            return SQLiteDatabase(writer: try await SQLiteConnection.open(storage: .memory), readers: [])
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let writer = try await SQLiteConnection.open(storage: .file(path: path))
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA busy_timeout=5000", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"] {
            _ = try await writer.query(pragma, [])
        }
        var pool: [SQLiteConnection] = []
        for _ in 0..<readers {
            let reader = try await SQLiteConnection.open(storage: .file(path: path))
            for pragma in ["PRAGMA busy_timeout=5000", "PRAGMA query_only=ON"] { _ = try await reader.query(pragma, []) }
            pool.append(reader)
        }
        return SQLiteDatabase(writer: writer, readers: pool)
    }

    private func acquireWriter() async {
        if writerBusy {
            await withCheckedContinuation { writerWaiters.append($0) }
        } else {
            writerBusy = true
        }
    }

    private func releaseWriter() {
        if writerWaiters.isEmpty { writerBusy = false } else { writerWaiters.removeFirst().resume() }
    }

    private func acquireReader() async -> SQLiteConnection {
        if let reader = idleReaders.popLast() { return reader }
        return await withCheckedContinuation { readerWaiters.append($0) }
    }

    private func releaseReader(_ reader: SQLiteConnection) {
        if readerWaiters.isEmpty { idleReaders.append(reader) } else { readerWaiters.removeFirst().resume(returning: reader) }
    }

    /// A statement that only reads: it may go to a reader connection.
    static func isRead(_ sql: String) -> Bool {
        let head = sql.drop { $0.isWhitespace }.prefix(6).uppercased()
        return head == "SELECT"
    }

    @discardableResult
    public func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        if !readers.isEmpty, Self.isRead(sql) {
            let reader = await acquireReader()
            defer { releaseReader(reader) }
            return try await Self.run(reader, sql, binds)
        }
        await acquireWriter()
        defer { releaseWriter() }
        return try await Self.run(writer, sql, binds)
    }

    public func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        await acquireWriter()
        defer { releaseWriter() }
        _ = try await writer.query("BEGIN IMMEDIATE", [])
        do {
            let result = try await body(Locked(connection: writer))
            _ = try await writer.query("COMMIT", [])
            return result
        } catch {
            _ = try? await writer.query("ROLLBACK", [])
            throw error
        }
    }

    public func close() async {
        for connection in [writer] + readers { try? await connection.close() }
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
            guard let first = rows.first else { return [] }
            let columns = SQLRow.Columns(first.columns.map(\.name))
            return rows.map { row in
                SQLRow(
                    columns: columns,
                    cells: row.columns.map { column in
                        switch column.data {
                        case .integer(let value): .int(Int64(value))
                        case .float(let value): .double(value)
                        case .text(let value): .text(value)
                        case .blob(let buffer): .text(String(buffer: buffer))
                        case .null: .null
                        }
                    })
            }
        } catch let error as SQLiteError
            where error.reason == .constraintUniqueFailed || error.reason == .constraintPrimaryKeyFailed
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
