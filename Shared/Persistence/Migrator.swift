import Foundation

/// A versioned schema step. Statements are written in the SQL both engines share.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    private let sqlite: [String]
    private let postgres: [String]

    public init(_ version: Int, _ name: String, _ statements: [String]) {
        self.init(version, name, sqlite: statements, postgres: statements)
    }

    /// A step written twice, where the engines differ (full-text search, trigger bodies).
    public init(_ version: Int, _ name: String, sqlite: [String], postgres: [String]) {
        self.version = version
        self.name = name
        self.sqlite = sqlite
        self.postgres = postgres
    }

    public func statements(for engine: Engine) -> [String] { engine == .sqlite ? sqlite : postgres }
}

public enum Migrator {
    /// Applies the migrations not yet recorded, each in its own transaction. On PostgreSQL an advisory
    /// lock keeps two replicas starting at once from applying the same step twice.
    /// `scope` names the owner (the service), so services may even share one database.
    public static func migrate(_ database: any Database, scope: String, _ migrations: [Migration]) async throws {
        // PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a concurrent twin: lock first.
        try await database.transaction { db in
            try await lock(db)
            try await db.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    scope TEXT NOT NULL, version BIGINT NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL,
                    PRIMARY KEY (scope, version))
                """)
        }
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            try await database.transaction { db in
                try await lock(db)
                let applied = try await db.count(
                    "SELECT COUNT(*) AS n FROM schema_migrations WHERE scope = $1 AND version = $2",
                    [.text(scope), .int(Int64(migration.version))])
                guard applied == 0 else { return }
                for statement in migration.statements(for: db.engine) { try await db.query(statement) }
                try await db.query(
                    "INSERT INTO schema_migrations (scope, version, name, applied_at) VALUES ($1, $2, $3, $4)",
                    [
                        .text(scope), .int(Int64(migration.version)), .text(migration.name),
                        .int(Int64(Date().timeIntervalSince1970 * 1000)),
                    ])
            }
        }
    }

    private static func lock(_ db: any SQLExecutor) async throws {
        if db.engine == .postgres { try await db.query("SELECT pg_advisory_xact_lock(7411001)") }
    }
}
