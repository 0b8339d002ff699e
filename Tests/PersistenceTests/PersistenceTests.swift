import CloudGreetCore
import Foundation
import Persistence
import TestSupport
import Testing

@Suite struct PersistenceTests {
    static let migrations = [
        Migration(
            1, "things",
            [
                "CREATE TABLE things (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, amount BIGINT, ratio DOUBLE PRECISION, note TEXT)",
                "CREATE INDEX things_amount ON things (amount)",
            ]),
        Migration(
            2, "counter",
            [
                "CREATE TABLE counter (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)",
                "INSERT INTO counter (id, value) VALUES (1, 0)",
            ]),
    ]

    func eachEngine(_ body: (any Database) async throws -> Void) async throws {
        for url in try await TestEnvironment.databaseURLs() {
            let database = try await DatabaseFactory.open(url: url, logLabel: "test")
            try await Migrator.migrate(database, scope: "test", Self.migrations)
            try await body(database)
            await database.close()
        }
    }

    @Test func bothEnginesAreExercised() async throws {
        let engines = try await TestEnvironment.databaseURLs().map { $0.hasPrefix("sqlite") ? "sqlite" : "postgres" }
        if ProcessInfo.processInfo.environment["CI"] != nil { #expect(engines == ["sqlite", "postgres"]) }
    }

    @Test func migrationsAreVersionedAndIdempotent() async throws {
        try await eachEngine { db in
            try await Migrator.migrate(db, scope: "test", Self.migrations)  // again: nothing to do
            #expect(try await db.count("SELECT COUNT(*) AS n FROM schema_migrations WHERE scope = 'test'") == 2)
            #expect(try await db.count("SELECT value AS n FROM counter") == 0)
            // Another scope keeps its own versions in the same database.
            try await Migrator.migrate(db, scope: "other", [Migration(1, "x", ["CREATE TABLE other_x (id TEXT)"])])
            #expect(try await db.count("SELECT COUNT(*) AS n FROM schema_migrations") == 3)
        }
    }

    @Test func replicasMigratingAtOnceApplyEachStepOnce() async throws {
        for url in try await TestEnvironment.databaseURLs() where url.hasPrefix("postgres") {
            let replicas = [try await DatabaseFactory.open(url: url, logLabel: "a"), try await DatabaseFactory.open(url: url, logLabel: "b")]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for replica in replicas { group.addTask { try await Migrator.migrate(replica, scope: "race", Self.migrations) } }
                try await group.waitForAll()
            }
            #expect(try await replicas[0].count("SELECT COUNT(*) AS n FROM schema_migrations WHERE scope = 'race'") == 2)
            for replica in replicas { await replica.close() }
        }
    }

    @Test func valuesRoundTrip() async throws {
        try await eachEngine { db in
            try await db.query(
                "INSERT INTO things (id, name, amount, ratio, note) VALUES ($1, $2, $3, $4, $5)",
                ["t1", "it's $1 ünïcode", .int(1_700_000_000_123), .double(0.25), .null])
            let row = try #require(try await db.first("SELECT * FROM things WHERE id = $1", ["t1"]))
            #expect(row.string("name") == "it's $1 ünïcode")
            #expect(row.int("amount") == 1_700_000_000_123)
            #expect(row.double("ratio") == 0.25)
            #expect(row.values["note"] == .null)
            let returned = try await db.query("UPDATE things SET amount = amount + 1 WHERE id = $1 RETURNING amount", ["t1"])
            #expect(returned.first?.int("amount") == 1_700_000_000_124)
            // A sum of integers is NUMERIC in PostgreSQL: read as its value, not as 0.
            let sum = try #require(try await db.first("SELECT SUM(amount) AS total, SUM(amount) / 8.0 AS eighth FROM things"))
            #expect(sum.int("total") == 1_700_000_000_124)
            #expect(sum.double("eighth") == 212_500_000_015.5)
        }
    }

    @Test func uniqueViolationsAreRecognised() async throws {
        try await eachEngine { db in
            try await db.query("INSERT INTO things (id, name) VALUES ('a', 'same')")
            await #expect(throws: DatabaseError.self) { try await db.query("INSERT INTO things (id, name) VALUES ('b', 'same')") }
            await #expect(throws: DatabaseError.self) { try await db.query("INSERT INTO things (id, name) VALUES ('a', 'other')") }
        }
    }

    @Test func transactionsRollBackOnError() async throws {
        struct Boom: Error {}
        try await eachEngine { db in
            await #expect(throws: Boom.self) {
                try await db.transaction { tx in
                    try await tx.query("INSERT INTO things (id, name) VALUES ('r', 'rolled back')")
                    throw Boom()
                }
            }
            let remaining = try await db.count("SELECT COUNT(*) AS n FROM things WHERE id = 'r'")
            #expect(remaining == 0)
        }
    }

    @Test func concurrentTransactionsDoNotLoseUpdates() async throws {
        try await eachEngine { db in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<25 {
                    group.addTask {
                        try await db.transaction { tx in
                            let row = try await tx.first(
                                tx.engine == .postgres
                                    ? "SELECT value FROM counter WHERE id = 1 FOR UPDATE"
                                    : "SELECT value FROM counter WHERE id = 1")
                            let value = row?.int("value") ?? 0
                            try await tx.query("UPDATE counter SET value = $1 WHERE id = 1", [.int(Int64(value + 1))])
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await db.count("SELECT value AS n FROM counter WHERE id = 1") == 25)
        }
    }

    /// PostgreSQL statements that run again are prepared, each kind of values apart (the kinds
    /// type the parameters), never one with a pattern; prepared anew once a migration changed the
    /// columns they read; and no more once the server has forgotten one.
    @Test func statementsThatRunAgainArePrepared() async throws {
        guard let url = try await TestEnvironment.postgresDatabaseURL() else { return }
        let db = try await DatabaseFactory.open(url: url + "?pool_size=1", logLabel: "t")  // one connection: the one listed
        try await Migrator.migrate(db, scope: "test", Self.migrations)
        func prepared() async throws -> [String] {
            try await db.query("SELECT statement FROM pg_prepared_statements WHERE name LIKE 'cloudgreet%' ORDER BY prepare_time")
                .compactMap { $0.string("statement") }
        }
        try await db.query("INSERT INTO things (id, name, amount) VALUES ('s1', 'one', 5)")
        let read = "SELECT * FROM things WHERE id = $1"
        #expect(try await db.first(read, ["s1"])?.int("amount") == 5)
        #expect(try await prepared().isEmpty)
        #expect(try await db.first(read, ["s1"])?.int("amount") == 5)
        #expect(try await prepared() == [read])

        for _ in 0..<2 { #expect(try await db.first("SELECT $1 AS v", ["a"])?.string("v") == "a") }
        for _ in 0..<2 { #expect(try await db.first("SELECT $1 AS v", [.int(7)])?.int("v") == 7) }
        #expect(try await prepared() == [read, "SELECT $1 AS v", "SELECT $1 AS v"])

        for _ in 0..<3 { #expect(try await db.query("SELECT id FROM things WHERE name LIKE $1", ["on%"]).count == 1) }
        #expect(try await prepared().count == 3)

        try await db.query("ALTER TABLE things ADD COLUMN extra TEXT DEFAULT 'x'")
        for _ in 0..<3 { #expect(try await db.first(read, ["s1"])?.string("extra") == "x") }
        #expect(try await prepared() == [read, "SELECT $1 AS v", "SELECT $1 AS v", read])  // the first stays

        // As behind a pooler that does not keep them: the server forgets the statements.
        try await db.query("DEALLOCATE ALL")
        #expect(try await db.first(read, ["s1"])?.int("amount") == 5)
        for _ in 0..<2 { #expect(try await db.first("SELECT amount FROM things WHERE id = $1", ["s1"])?.int("amount") == 5) }
        let after = try await prepared()
        #expect(after.isEmpty, "\(after)")  // and none is prepared again
        await db.close()
    }

    @Test func likePatternsAreEscaped() async throws {
        try await eachEngine { db in
            try await db.query("INSERT INTO things (id, name) VALUES ('p1', '100% real'), ('p2', '100 x real')")
            let rows = try await db.query(
                "SELECT id FROM things WHERE LOWER(name) LIKE $1 ESCAPE '\\'",
                [.text("%\("100%".likeEscaped)%")])
            #expect(rows.map { $0.string("id") } == ["p1"])
        }
    }
}

/// The leased queue on both engines, over a table of its own.
@Suite struct LeasedQueueTests {
    func queue(_ url: String, attempts: Int = 3) async throws -> LeasedQueue {
        let db = try await DatabaseFactory.open(url: url, logLabel: "t")
        try await db.query(
            """
            CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, attempts BIGINT NOT NULL DEFAULT 0,
                due_at BIGINT NOT NULL, claimed_until BIGINT, error TEXT, done_at BIGINT)
            """)
        return LeasedQueue(
            db: db, layout: .init(table: "jobs", dueColumn: "due_at", ready: "pending", leased: "working", dead: "dead"),
            lease: 60, retry: RetryPolicy(attempts: attempts, baseDelay: .seconds(10), maxDelay: .seconds(10)))
    }

    func add(_ queue: LeasedQueue, _ id: String, due: Date) async throws {
        try await queue.db.query("INSERT INTO jobs (id, status, due_at) VALUES ($1, 'pending', $2)", [.text(id), SQLValue(due)])
    }

    @Test func twoWorkersNeverHoldTheSameItemAndALapsedLeaseIsTakenAgain() async throws {
        for url in try await TestEnvironment.databaseURLs() {
            let queue = try await queue(url)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            for index in 0..<30 { try await add(queue, "job\(index)", due: now - Double(index)) }
            try await add(queue, "later", due: now + 600)
            let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 { group.addTask { try await queue.claim(now: now, limit: 10).map(\.id) } }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claimed.count == 30 && Set(claimed).count == 30, "\(url.prefix(8))")  // each once, the later one not yet
            #expect(try await queue.claim(now: now + 30).isEmpty)  // all leased
            try await queue.finish("job0", status: "done", setting: [("done_at", SQLValue(now))])
            let again = try await queue.claim(now: now + 61, limit: 100)  // the workers died: leases lapsed
            #expect(again.count == 29 && again.allSatisfy { $0.attempts == 2 } && !again.contains { $0.id == "job0" })
            #expect(try await queue.counts() == ["working": 29, "done": 1, "pending": 1])
            await queue.db.close()
        }
    }

    @Test func aPoisonItemIsRetriedWithBackoffThenDead() async throws {
        for url in try await TestEnvironment.databaseURLs() {
            let queue = try await queue(url, attempts: 3)
            var now = Date(timeIntervalSince1970: 1_800_000_000)
            try await add(queue, "poison", due: now)
            var outcomes: [LeasedQueue.Failure] = []
            for _ in 0..<3 {
                let claim = try #require(try await queue.claim(now: now).first)
                #expect(try await queue.claim(now: now).isEmpty)  // not again while it waits out its backoff
                outcomes.append(try await queue.fail(claim, error: "boom", now: now))
                now += 11
            }
            #expect(outcomes.count == 3 && outcomes.last == .dead)
            if case .retry(let at) = outcomes[0] { #expect(at > now - 33 && at <= now - 33 + 10) } else { Issue.record("not retried") }
            #expect(try await queue.claim(now: now + 3600).isEmpty)  // parked, never lost: still in the table
            #expect(try await queue.counts() == ["dead": 1])
            let row = try await queue.db.first("SELECT error, attempts FROM jobs WHERE id = 'poison'")
            #expect(row?.string("error") == "boom" && row?.int("attempts") == 3)
            await queue.db.close()
        }
    }
}
