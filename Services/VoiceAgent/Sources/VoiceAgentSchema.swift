import Persistence
import ServiceKit

enum VoiceAgentSchema {
    static let migrations = [
        Migration(
            1, "agents",
            [
                """
                CREATE TABLE agents (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL, name TEXT NOT NULL, voice_settings TEXT NOT NULL,
                    behavior_settings TEXT NOT NULL, working_hours TEXT, is_active BIGINT NOT NULL, started_at BIGINT,
                    retell_agent_id TEXT, retell_llm_id TEXT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)
                """,
                "CREATE INDEX agents_business_created ON agents (business_id, created_at, id)",
                "CREATE INDEX agents_business_active ON agents (business_id, is_active, created_at, id)",
            ]),
        Migration(
            2, "calls",
            [
                // `stage` is the live call's place in its state machine (`CallSession`); `status` is
                // what clients see. `answered_by` is who took the call: the AI or a person.
                """
                CREATE TABLE calls (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL, agent_id TEXT, lead_id TEXT, phone TEXT NOT NULL,
                    to_number TEXT, direction TEXT NOT NULL, status TEXT NOT NULL, stage TEXT NOT NULL,
                    call_control_id TEXT NOT NULL, retell_call_id TEXT, answered_by TEXT, duration BIGINT,
                    hangup_cause TEXT, recording_url TEXT, transcript TEXT, summary TEXT, sentiment TEXT, outcome TEXT,
                    analysis TEXT, appointment_id TEXT, booking_error TEXT, error TEXT, created_at BIGINT NOT NULL,
                    ended_at BIGINT, updated_at BIGINT NOT NULL)
                """,
                "CREATE UNIQUE INDEX calls_call_control ON calls (call_control_id)",
                "CREATE UNIQUE INDEX calls_retell ON calls (retell_call_id)",
                "CREATE INDEX calls_business_created ON calls (business_id, created_at, id)",
                "CREATE INDEX calls_business_status ON calls (business_id, status, created_at, id)",
                "CREATE INDEX calls_business_lead ON calls (business_id, lead_id, created_at, id)",
                "CREATE INDEX calls_business_direction ON calls (business_id, direction, created_at, id)",
                "CREATE INDEX calls_agent_status ON calls (agent_id, status)",
                "CREATE INDEX calls_agent_created ON calls (agent_id, created_at)",
                // Covers analytics' call stats: no row look-ups.
                "CREATE INDEX calls_business_stats ON calls (business_id, created_at, status, duration)",
            ]),
        Migration(3, "webhook events", WebhookInbox<VoiceEvent>.schema),
        Migration(
            4, "missed-call text-backs",
            [
                """
                CREATE TABLE text_backs (
                    id TEXT PRIMARY KEY, business_id TEXT NOT NULL, call_id TEXT NOT NULL, phone TEXT NOT NULL,
                    lead_id TEXT, text TEXT NOT NULL, status TEXT NOT NULL, due_at BIGINT NOT NULL,
                    attempts BIGINT NOT NULL DEFAULT 0, claimed_until BIGINT, message_id TEXT, error TEXT,
                    created_at BIGINT NOT NULL, sent_at BIGINT)
                """,
                "CREATE UNIQUE INDEX text_backs_call ON text_backs (call_id)",
                "CREATE INDEX text_backs_due ON text_backs (status, due_at)",
                "CREATE INDEX text_backs_recent ON text_backs (business_id, phone, created_at)",
            ]),
        Migration(
            5, "erased calls",
            [
                // Set when the caller was erased: a Retell analysis or a recording arriving later
                // must not bring back what was erased (`CallStore.update`).
                "ALTER TABLE calls ADD COLUMN erased_at BIGINT",
                "CREATE INDEX calls_business_phone ON calls (business_id, phone)",
            ]),
        Migration(6, "webhook events", EventOutbox.schema),
    ]
}
