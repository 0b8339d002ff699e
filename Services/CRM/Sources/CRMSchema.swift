import CloudGreetCore
import Foundation
import Persistence
import ServiceKit

enum CRMSchema {
    static let migrations = [
        Migration(
            1, "leads",
            [
                """
                CREATE TABLE leads (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL, name TEXT, phone TEXT, email TEXT,
                    source TEXT NOT NULL, status TEXT NOT NULL, notes TEXT, qualification_score BIGINT,
                    qualification TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                "CREATE UNIQUE INDEX leads_business_phone ON leads (business_id, phone)",
                "CREATE UNIQUE INDEX leads_business_email ON leads (business_id, email)",
                "CREATE INDEX leads_business_created ON leads (business_id, created_at, id)",
                "CREATE INDEX leads_business_status ON leads (business_id, status, created_at, id)",
                "CREATE INDEX leads_business_source ON leads (business_id, source, created_at, id)",
            ]),
        Migration(
            2, "appointments",
            [
                """
                CREATE TABLE appointments (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL, lead_id TEXT NOT NULL, scheduled_at BIGINT NOT NULL,
                    ends_at BIGINT NOT NULL, duration BIGINT NOT NULL, status TEXT NOT NULL, type TEXT, notes TEXT,
                    value_cents BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                "CREATE INDEX appointments_business_scheduled ON appointments (business_id, scheduled_at, id)",
                "CREATE INDEX appointments_business_status ON appointments (business_id, status, scheduled_at, id)",
                "CREATE INDEX appointments_business_lead ON appointments (business_id, lead_id)",
            ]),
        Migration(
            3, "reminders",
            [
                """
                CREATE TABLE reminders (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL, appointment_id TEXT NOT NULL, kind TEXT NOT NULL,
                    hours_before BIGINT, due_at BIGINT NOT NULL, status TEXT NOT NULL, method TEXT, message_id TEXT,
                    error TEXT, attempts BIGINT NOT NULL DEFAULT 0, claimed_until BIGINT, sent_at BIGINT,
                    created_at BIGINT NOT NULL)
                """,
                "CREATE UNIQUE INDEX reminders_automatic ON reminders (appointment_id, kind, hours_before)",
                "CREATE INDEX reminders_due ON reminders (status, due_at)",
                "CREATE INDEX reminders_appointment ON reminders (business_id, appointment_id)",
            ]),
        Migration(
            4, "appointment references",
            [
                // What booked an appointment on a business's behalf (a call id): the same reference
                // twice is the same booking.
                "ALTER TABLE appointments ADD COLUMN reference TEXT",
                "CREATE UNIQUE INDEX appointments_business_reference ON appointments (business_id, reference)",
            ]),
        Migration(
            5, "covering indexes for analytics",
            [
                // Stats read these columns only, so the index alone answers them (no row look-ups).
                "CREATE INDEX leads_business_stats ON leads (business_id, status, source, qualification_score, created_at)",
                "CREATE INDEX appointments_business_stats ON appointments (business_id, status, scheduled_at, value_cents)",
            ]),
        Migration(
            6, "lead counts",
            // `pagination.total` of a lead list without a search, kept by triggers in the same
            // transaction as every write to leads, so it is exact without counting 100,000 rows.
            sqlite: leadCounts.sqlite, postgres: leadCounts.postgres),
        Migration(
            7, "lead search",
            // `search` matches a substring of name, email or phone. A trigram index finds the few
            // candidates; the query still applies the LIKE it always did, so matches are unchanged.
            sqlite: [
                // Keyed by the rowid of `leads`, which only a manual VACUUM renumbers (then rebuild:
                // INSERT INTO leads_search (leads_search) VALUES ('rebuild'); see docs/OPERATIONS.md).
                "CREATE VIRTUAL TABLE leads_search USING fts5(name, email, phone, content='leads', tokenize='trigram')",
                """
                CREATE TRIGGER leads_search_insert AFTER INSERT ON leads BEGIN
                    INSERT INTO leads_search (rowid, name, email, phone) VALUES (new.rowid, new.name, new.email, new.phone);
                END
                """,
                """
                CREATE TRIGGER leads_search_delete AFTER DELETE ON leads BEGIN
                    INSERT INTO leads_search (leads_search, rowid, name, email, phone)
                        VALUES ('delete', old.rowid, old.name, old.email, old.phone);
                END
                """,
                """
                CREATE TRIGGER leads_search_update AFTER UPDATE OF name, email, phone ON leads BEGIN
                    INSERT INTO leads_search (leads_search, rowid, name, email, phone)
                        VALUES ('delete', old.rowid, old.name, old.email, old.phone);
                    INSERT INTO leads_search (rowid, name, email, phone) VALUES (new.rowid, new.name, new.email, new.phone);
                END
                """,
                "INSERT INTO leads_search (leads_search) VALUES ('rebuild')",
            ],
            postgres: [
                // A trusted extension: the database's owner may create it.
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX leads_search ON leads USING gin (LOWER(name) gin_trgm_ops, email gin_trgm_ops, phone gin_trgm_ops)",
            ]),
        Migration(
            8, "erasures",
            [
                // Who erased which lead and when, with nothing personal: kept for good.
                """
                CREATE TABLE erasures (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL, lead_id TEXT NOT NULL, erased_by TEXT NOT NULL,
                    created_at BIGINT NOT NULL)
                """,
                "CREATE INDEX erasures_business ON erasures (business_id, created_at)",
                // Each other service's part, a leased queue that never gives up. The phone and email
                // are what the service must find; they are cleared once it has erased its part.
                """
                CREATE TABLE erasure_parts (
                    id TEXT PRIMARY KEY, erasure_id TEXT NOT NULL, business_id TEXT NOT NULL, lead_id TEXT NOT NULL,
                    service TEXT NOT NULL, phone TEXT, email TEXT, status TEXT NOT NULL, due_at BIGINT NOT NULL,
                    attempts BIGINT NOT NULL DEFAULT 0, claimed_until BIGINT, error TEXT, done_at BIGINT,
                    created_at BIGINT NOT NULL)
                """,
                "CREATE INDEX erasure_parts_due ON erasure_parts (status, due_at)",
                "CREATE INDEX erasure_parts_erasure ON erasure_parts (erasure_id)",
            ]),
        Migration(9, "webhook events", EventOutbox.schema),
        Migration(
            10, "lead buckets",
            // Where a deep page of a lead list starts: leads counted per day of `created_at` (UTC),
            // status and source. The days' counts say which day holds the page's first lead and how
            // many newer leads to skip without reading them.
            sqlite: leadBucketCounts.sqlite, postgres: leadBucketCounts.postgres),
        // lead_counts' function as migration 6 now writes it: rows taken in key order, none for a
        // change that keeps the key (SQLite has one writer at a time: nothing to change there).
        Migration(11, "lead counts in key order", sqlite: [], postgres: [leadCounts.function]),
        Migration(
            12, "lead days",
            // The same days for lists without a status or source: one row per day instead of one per
            // day, status and source, so that checking a deep page's counts sums a twentieth of the
            // rows (PostgreSQL's middle page of 100,000 leads spent more on those sums than on the rows).
            sqlite: leadDayCounts.sqlite, postgres: leadDayCounts.postgres),
    ]

    /// `lead_buckets` as lists read it: a day of `created_at` (milliseconds) per bucket, as migration
    /// 10's triggers compute it (another width needs a new migration that rebuilds the table).
    static let leadBuckets = Buckets(table: "lead_buckets", column: "created_at", width: 86_400_000)
    /// `lead_days`, for lists filtered by business alone: migration 12's days.
    static let leadDays = Buckets(table: "lead_days", column: "created_at", width: 86_400_000)

    private static let leadCounts = LeadCounts(
        "lead_counts",
        [("business_id", "TEXT", { "\($0).business_id" }), ("status", "TEXT", { "\($0).status" }), ("source", "TEXT", { "\($0).source" })],
        changedBy: "business_id, status, source")
    private static let leadBucketCounts = LeadCounts(
        "lead_buckets",
        [
            ("business_id", "TEXT", { "\($0).business_id" }), ("bucket", "BIGINT", { "\($0).created_at / 86400000" }),
            ("status", "TEXT", { "\($0).status" }), ("source", "TEXT", { "\($0).source" }),
        ],
        changedBy: "business_id, created_at, status, source")
    private static let leadDayCounts = LeadCounts(
        "lead_days", [("business_id", "TEXT", { "\($0).business_id" }), ("bucket", "BIGINT", { "\($0).created_at / 86400000" })],
        changedBy: "business_id, created_at")
}

/// A table counting leads per key, kept by triggers in the same transaction as every write to
/// `leads`: its statements on either engine, the counts of the leads already there included.
private struct LeadCounts {
    let table: String
    /// Each column of the key, its type, and how it is worked out from a row of `leads` (named
    /// `new`, `old` or `leads`).
    let key: [(column: String, type: String, value: @Sendable (String) -> String)]
    /// The columns of `leads` whose change moves a lead to another count.
    let changedBy: String

    init(_ table: String, _ key: [(column: String, type: String, value: @Sendable (String) -> String)], changedBy: String) {
        self.table = table
        self.key = key
        self.changedBy = changedBy
    }

    private var columns: String { key.map(\.column).joined(separator: ", ") }
    private func values(of row: String) -> String { key.map { $0.value(row) }.joined(separator: ", ") }
    private func matching(_ row: String) -> String { key.map { "\($0.column) = \($0.value(row))" }.joined(separator: " AND ") }

    private var create: String {
        """
        CREATE TABLE \(table) (
            \(key.map { "\($0.column) \($0.type) NOT NULL" }.joined(separator: ", ")), n BIGINT NOT NULL,
            PRIMARY KEY (\(columns)))
        """
    }
    private var backfill: String {
        let grouped = values(of: "leads")
        return "INSERT INTO \(table) (\(columns), n) SELECT \(grouped), COUNT(*) FROM leads GROUP BY \(grouped)"
    }
    private func add(_ row: String, counted n: String) -> String {
        "INSERT INTO \(table) (\(columns), n) VALUES (\(values(of: row)), 1) ON CONFLICT (\(columns)) DO UPDATE SET n = \(n) + 1;"
    }
    private func remove(_ row: String) -> String { "UPDATE \(table) SET n = n - 1 WHERE \(matching(row));" }

    var sqlite: [String] {
        [
            create,
            "CREATE TRIGGER \(table)_insert AFTER INSERT ON leads BEGIN \(add("new", counted: "n")) END",
            "CREATE TRIGGER \(table)_delete AFTER DELETE ON leads BEGIN \(remove("old")) END",
            "CREATE TRIGGER \(table)_update AFTER UPDATE OF \(changedBy) ON leads BEGIN \(remove("old")) \(add("new", counted: "n")) END",
            backfill,
        ]
    }

    /// The counts a change moves between are locked in key order, so that two changes moving leads
    /// opposite ways cannot deadlock; a change that keeps the key locks nothing.
    var function: String {
        let (old, new) = ("ROW(\(values(of: "OLD")))", "ROW(\(values(of: "NEW")))")
        return """
            CREATE OR REPLACE FUNCTION \(table)_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'UPDATE' AND \(old) = \(new) THEN RETURN NULL; END IF;
                IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND \(new) < \(old)) THEN \(add("NEW", counted: "\(table).n")) END IF;
                IF TG_OP IN ('UPDATE', 'DELETE') THEN \(remove("OLD")) END IF;
                IF TG_OP = 'UPDATE' AND \(new) > \(old) THEN \(add("NEW", counted: "\(table).n")) END IF;
                RETURN NULL;
            END
            $$
            """
    }

    var postgres: [String] {
        [
            create,
            function,
            """
            CREATE TRIGGER \(table) AFTER INSERT OR DELETE OR UPDATE OF \(changedBy) ON leads
                FOR EACH ROW EXECUTE FUNCTION \(table)_change()
            """,
            backfill,
        ]
    }
}
