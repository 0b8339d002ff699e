import CloudGreetCore
import Foundation
import Persistence

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
    ]
}
