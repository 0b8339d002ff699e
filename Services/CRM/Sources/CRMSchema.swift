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
            sqlite: [
                leadCountsTable,
                """
                CREATE TRIGGER lead_counts_insert AFTER INSERT ON leads BEGIN
                    INSERT INTO lead_counts (business_id, status, source, n) VALUES (new.business_id, new.status, new.source, 1)
                        ON CONFLICT (business_id, status, source) DO UPDATE SET n = n + 1;
                END
                """,
                """
                CREATE TRIGGER lead_counts_delete AFTER DELETE ON leads BEGIN
                    UPDATE lead_counts SET n = n - 1
                        WHERE business_id = old.business_id AND status = old.status AND source = old.source;
                END
                """,
                """
                CREATE TRIGGER lead_counts_update AFTER UPDATE OF business_id, status, source ON leads BEGIN
                    UPDATE lead_counts SET n = n - 1
                        WHERE business_id = old.business_id AND status = old.status AND source = old.source;
                    INSERT INTO lead_counts (business_id, status, source, n) VALUES (new.business_id, new.status, new.source, 1)
                        ON CONFLICT (business_id, status, source) DO UPDATE SET n = n + 1;
                END
                """,
                leadCountsBackfill,
            ],
            postgres: [
                leadCountsTable,
                """
                CREATE FUNCTION lead_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP IN ('UPDATE', 'DELETE') THEN
                        UPDATE lead_counts SET n = n - 1
                            WHERE business_id = OLD.business_id AND status = OLD.status AND source = OLD.source;
                    END IF;
                    IF TG_OP IN ('UPDATE', 'INSERT') THEN
                        INSERT INTO lead_counts (business_id, status, source, n) VALUES (NEW.business_id, NEW.status, NEW.source, 1)
                            ON CONFLICT (business_id, status, source) DO UPDATE SET n = lead_counts.n + 1;
                    END IF;
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER lead_counts AFTER INSERT OR DELETE OR UPDATE OF business_id, status, source ON leads
                    FOR EACH ROW EXECUTE FUNCTION lead_counts_change()
                """,
                leadCountsBackfill,
            ]),
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
            // status and source, kept by triggers like `lead_counts`. The days' counts say which day
            // holds the page's first lead and how many newer leads to skip without reading them.
            sqlite: [
                leadBucketsTable,
                """
                CREATE TRIGGER lead_buckets_insert AFTER INSERT ON leads BEGIN
                    INSERT INTO lead_buckets (business_id, bucket, status, source, n)
                        VALUES (new.business_id, new.created_at / 86400000, new.status, new.source, 1)
                        ON CONFLICT (business_id, bucket, status, source) DO UPDATE SET n = n + 1;
                END
                """,
                """
                CREATE TRIGGER lead_buckets_delete AFTER DELETE ON leads BEGIN
                    UPDATE lead_buckets SET n = n - 1 WHERE business_id = old.business_id
                        AND bucket = old.created_at / 86400000 AND status = old.status AND source = old.source;
                END
                """,
                """
                CREATE TRIGGER lead_buckets_update AFTER UPDATE OF business_id, created_at, status, source ON leads BEGIN
                    UPDATE lead_buckets SET n = n - 1 WHERE business_id = old.business_id
                        AND bucket = old.created_at / 86400000 AND status = old.status AND source = old.source;
                    INSERT INTO lead_buckets (business_id, bucket, status, source, n)
                        VALUES (new.business_id, new.created_at / 86400000, new.status, new.source, 1)
                        ON CONFLICT (business_id, bucket, status, source) DO UPDATE SET n = n + 1;
                END
                """,
                leadBucketsBackfill,
            ],
            postgres: [
                leadBucketsTable,
                """
                CREATE FUNCTION lead_buckets_change() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP IN ('UPDATE', 'DELETE') THEN
                        UPDATE lead_buckets SET n = n - 1 WHERE business_id = OLD.business_id
                            AND bucket = OLD.created_at / 86400000 AND status = OLD.status AND source = OLD.source;
                    END IF;
                    IF TG_OP IN ('UPDATE', 'INSERT') THEN
                        INSERT INTO lead_buckets (business_id, bucket, status, source, n)
                            VALUES (NEW.business_id, NEW.created_at / 86400000, NEW.status, NEW.source, 1)
                            ON CONFLICT (business_id, bucket, status, source) DO UPDATE SET n = lead_buckets.n + 1;
                    END IF;
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER lead_buckets AFTER INSERT OR DELETE OR UPDATE OF business_id, created_at, status, source ON leads
                    FOR EACH ROW EXECUTE FUNCTION lead_buckets_change()
                """,
                leadBucketsBackfill,
            ]),
    ]

    /// `lead_buckets` as lists read it: a day of `created_at` (milliseconds) per bucket, as migration
    /// 10's triggers compute it (another width needs a new migration that rebuilds the table).
    static let leadBuckets = Buckets(table: "lead_buckets", column: "created_at", width: 86_400_000)

    private static let leadCountsTable = """
        CREATE TABLE lead_counts (
            business_id TEXT NOT NULL, status TEXT NOT NULL, source TEXT NOT NULL, n BIGINT NOT NULL,
            PRIMARY KEY (business_id, status, source))
        """
    private static let leadCountsBackfill =
        "INSERT INTO lead_counts (business_id, status, source, n) SELECT business_id, status, source, COUNT(*) FROM leads GROUP BY business_id, status, source"
    private static let leadBucketsTable = """
        CREATE TABLE lead_buckets (
            business_id TEXT NOT NULL, bucket BIGINT NOT NULL, status TEXT NOT NULL, source TEXT NOT NULL, n BIGINT NOT NULL,
            PRIMARY KEY (business_id, bucket, status, source))
        """
    private static let leadBucketsBackfill = """
        INSERT INTO lead_buckets (business_id, bucket, status, source, n)
        SELECT business_id, created_at / 86400000, status, source, COUNT(*) FROM leads GROUP BY business_id, created_at / 86400000, status, source
        """
}
