/**
 * The API's models, field for field as on the wire (snake_case). Ids are opaque strings with a
 * type prefix (`lead_...`); times are ISO 8601 UTC strings (`2024-01-20T14:00:00Z`).
 */

/** An ISO 8601 date-time string. */
export type Timestamp = string;

export interface Pagination {
  page: number;
  limit: number;
  total: number;
  pages: number;
}

/** One page of a list. */
export interface Page<T> {
  items: T[];
  pagination: Pagination;
}

/** Paging parameters every list takes: `page` >= 1, `limit` 1..100 (default 20). */
export interface PageParams {
  page?: number;
  limit?: number;
}

/** A JSON object of free-form settings. */
export type JSONObject = { [key: string]: unknown };

export type Role = "admin" | "user" | "agent";

// MARK: identity

export interface User {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  business_id: string | null;
  role: Role | null;
  created_at: Timestamp;
  /** Members lists only. */
  joined_at?: Timestamp | null;
}

export interface OpeningHoursDay {
  open?: string;
  close?: string;
  closed?: boolean;
}

export type Weekday = "monday" | "tuesday" | "wednesday" | "thursday" | "friday" | "saturday" | "sunday";

export type OpeningHours = Partial<Record<Weekday, OpeningHoursDay>>;

export interface BusinessSettings {
  /** IANA time zone, default `America/New_York`. */
  timezone?: string;
  business_hours?: OpeningHours;
  /** The E.164 number Telnyx delivers calls and texts for; unique across businesses. */
  phone_number?: string | null;
  escalation_phone?: string | null;
  sms_auto_reply?: string | null;
  reminders?: { enabled: boolean; hours_before: number[] };
  missed_call_text_back?: boolean;
  missed_call_text?: string | null;
}

export interface Business {
  id: string;
  name: string;
  settings: BusinessSettings;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ApiKey {
  id: string;
  business_id: string;
  name: string;
  role: Role;
  /** The key's first 10 characters, for display. */
  prefix: string;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
}

/** A newly created API key: `key` (`cg_...`) is shown only this once. */
export interface CreatedApiKey extends ApiKey {
  key: string;
}

export interface AuthSession {
  token: string;
  user: User;
  /** Seconds until `token` expires. */
  expires_in: number;
}

export interface Registration extends AuthSession {
  business: Business;
}

// MARK: crm

export type LeadStatus = "new" | "qualified" | "unqualified" | "converted";
export type LeadSource = "call" | "sms" | "email" | "web";

export interface Lead {
  id: string;
  business_id: string;
  name: string | null;
  phone: string | null;
  email: string | null;
  source: LeadSource;
  status: LeadStatus;
  notes: string | null;
  qualification_score: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface QualificationCriteria {
  budget: "high" | "medium" | "low";
  timeline: "immediate" | "this_week" | "this_month" | "this_quarter" | "exploring";
  decision_maker: boolean;
  urgency?: "high" | "medium" | "low";
  previous_customer?: boolean;
}

export interface QualificationFactor {
  factor: string;
  points: number;
  max_points: number;
}

export interface QualifiedLead extends Lead {
  qualification: { score: number; breakdown: QualificationFactor[] };
}

export interface Deleted {
  id: string;
  deleted: true;
}

/** A lead erased everywhere: `erasure.pending` names the services that finish their part later. */
export interface LeadErased extends Deleted {
  erasure: {
    id: string;
    status: "complete" | "pending";
    pending: Array<"voice-agent" | "messaging">;
  };
}

export type AppointmentStatus = "scheduled" | "confirmed" | "completed" | "cancelled" | "no_show";

export interface Appointment {
  id: string;
  business_id: string;
  lead_id: string;
  scheduled_date: Timestamp;
  /** Minutes. */
  duration: number;
  status: AppointmentStatus;
  type: string | null;
  notes: string | null;
  /** What the job is worth, in the business's currency units. */
  value: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface Reminder {
  appointment_id: string;
  method: "sms" | "email";
  status: string;
  message_id: string;
  sent_at: Timestamp | null;
}

// MARK: voice-agent

export interface VoiceSettings {
  voice_id?: string;
  speed?: number;
  pitch?: number;
}

export interface BehaviorSettings {
  personality?: string;
  conversation_style?: string;
  greeting?: string;
  instructions?: string;
  escalation_triggers?: string[];
}

export type AgentStatus = "active" | "inactive";

export interface Agent {
  id: string;
  business_id: string;
  name: string;
  voice_settings: VoiceSettings;
  behavior_settings: BehaviorSettings;
  working_hours: OpeningHours | null;
  is_active: boolean;
  status: AgentStatus;
  started_at: Timestamp | null;
  retell_agent_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AgentStatusReport {
  id: string;
  status: AgentStatus;
  active_calls: number;
  total_calls_today: number;
  /** Milliseconds since the agent was started; 0 when stopped. */
  uptime: number;
}

export type CallStatus = "in_progress" | "completed" | "failed" | "missed";
export type CallDirection = "inbound" | "outbound";

export interface Call {
  id: string;
  business_id: string;
  agent_id: string | null;
  lead_id: string | null;
  /** Null once the caller was erased (`leads.delete`), as are the recording, transcript and summary. */
  phone: string | null;
  direction: CallDirection;
  /** Seconds. */
  duration: number | null;
  status: CallStatus;
  recording_url: string | null;
  transcript: string | null;
  summary: string | null;
  outcome: string | null;
  created_at: Timestamp;
  ended_at: Timestamp | null;
}

/** `GET /calls/{id}`: the list fields plus the analysis. */
export interface CallDetail extends Call {
  sentiment?: string | null;
  analysis?: JSONObject | null;
  answered_by?: "ai" | "person" | null;
  hangup_cause?: string | null;
  appointment_id?: string | null;
  booking_error?: string | null;
  error?: string | null;
}

// MARK: messaging

export type SmsStatus = "queued" | "sent" | "delivered" | "failed" | "received";

export interface Sms {
  id: string;
  business_id: string;
  lead_id: string | null;
  /** Null, with `message`, once the other party was erased (`leads.delete`). */
  phone: string | null;
  message: string | null;
  direction: "inbound" | "outbound";
  status: SmsStatus;
  provider_message_id: string | null;
  error?: string | null;
  /** True when no provider is configured (development) and nothing really left. */
  sandbox?: boolean;
  created_at: Timestamp;
  updated_at?: Timestamp;
}

export type EmailStatus = "queued" | "sent" | "failed";

export interface Email {
  id: string;
  business_id: string;
  lead_id: string | null;
  /** Null, with `subject` and `content`, once the addressee was erased (`leads.delete`). */
  to: string | null;
  subject: string | null;
  content: string | null;
  status: EmailStatus;
  provider_message_id: string | null;
  error?: string | null;
  sandbox?: boolean;
  created_at: Timestamp;
  updated_at?: Timestamp;
}

// MARK: webhooks (messaging)

/** What an endpoint may subscribe to. */
export type WebhookEventType =
  | "lead.created"
  | "lead.updated"
  | "appointment.created"
  | "appointment.updated"
  | "appointment.cancelled"
  | "call.completed"
  | "call.missed"
  | "sms.received"
  | "sms.status";

/** `disabled` after every delivery failed for 3 days; register the endpoint again to resume. */
export type WebhookStatus = "active" | "disabled";

/** A webhook endpoint of the business (`webhooks.list`); never with its secret. */
export interface Webhook {
  id: string;
  business_id: string;
  url: string;
  events: WebhookEventType[];
  status: WebhookStatus;
  /** Since when every delivery has failed; null after any success. */
  failing_since: Timestamp | null;
  created_at: Timestamp;
}

/** A newly registered endpoint: `secret` (`whsec_...`) signs every delivery and is shown only this once. */
export interface WebhookWithSecret extends Webhook {
  secret: string;
}

/** One attempt to deliver an event (`webhooks.deliveries`). */
export interface WebhookDelivery {
  id: string;
  event_id: string;
  /** A `WebhookEventType`, or `webhook.test`. */
  event_type: string;
  /** 1 for the first try. */
  attempt: number;
  /** The endpoint's answer; null when there was none (refused, timed out, address not allowed). */
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  created_at: Timestamp;
}

/** What `webhooks.test` and `webhooks.redeliver` answer (202): the event queued for delivery. */
export interface WebhookEventQueued {
  event_id: string;
  queued: true;
}

/**
 * The JSON body of a delivery CloudGreet sends to an endpoint (parse it only after
 * `verifyCloudGreetSignature` accepted the raw body). `data` is the resource after the change, as
 * the API shows it. A retry or a redelivery carries the same `id`: drop ids already handled.
 */
export interface WebhookEvent<T = JSONObject> {
  id: string;
  type: WebhookEventType | "webhook.test";
  created_at: Timestamp;
  data: T;
}

// MARK: analytics

export interface AnalyticsPeriod {
  start_date: Timestamp | null;
  end_date: Timestamp | null;
  timezone: string;
  today: Timestamp;
  month: Timestamp;
}

export interface AnalyticsOverview {
  leads: { total: number; new_today: number; qualified: number; converted: number };
  appointments: { total: number; scheduled_today: number; completed: number; cancelled: number };
  calls: { total: number; today: number; average_duration: number; success_rate: number };
  revenue: { total: number; this_month: number; growth_rate: number | null };
  messages?: { sms_outbound: number; sms_inbound: number; emails: number };
  period?: AnalyticsPeriod;
}

export interface ScoreGroup {
  count: number;
  average_score: number | null;
}

export interface ScoredLeads {
  total_leads: number;
  total_scored: number;
  average_score: number;
  distribution: Record<"0-19" | "20-39" | "40-59" | "60-79" | "80-100", number>;
  by_source: Record<LeadSource, ScoreGroup>;
  by_status: Record<LeadStatus, ScoreGroup>;
  conversion_rate: number;
  period?: AnalyticsPeriod;
}

// MARK: health

export interface HealthCheck {
  name: string;
  status: "healthy" | "degraded" | "unhealthy" | "unknown";
  message?: string;
  duration: number;
  timestamp: Timestamp;
}

export interface HealthReport {
  overall: "healthy" | "degraded" | "unhealthy";
  checks: HealthCheck[];
  timestamp: Timestamp;
  version: string;
  /** Milliseconds. */
  uptime: number;
  environment: string;
}
