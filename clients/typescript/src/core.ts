/** Everything but the webhook checks: web-standard APIs only, so it also runs in browsers. */
export { CloudGreetClient } from "./client.js";
export { SDK_VERSION, parseRetryAfter } from "./http.js";
export type { ClientOptions, RequestOptions, RetryInfo, FetchLike, Query, QueryValue } from "./http.js";
export * from "./errors.js";
export * from "./models.js";
export type { RegisterParams, LoginParams } from "./resources/auth.js";
export type {
  BusinessListParams,
  BusinessCreateParams,
  BusinessUpdateParams,
  MemberAddParams,
  ApiKeyCreateParams,
} from "./resources/businesses.js";
export type { LeadListParams, LeadCreateParams, LeadUpdateParams } from "./resources/leads.js";
export type {
  AppointmentListParams,
  AppointmentCreateParams,
  AppointmentUpdateParams,
  RemindParams,
} from "./resources/appointments.js";
export type { AgentListParams, AgentCreateParams, AgentUpdateParams } from "./resources/agents.js";
export type { CallListParams } from "./resources/calls.js";
export type { SmsListParams, SmsSendParams, EmailListParams, EmailSendParams } from "./resources/messaging.js";
export type { AnalyticsParams } from "./resources/analytics.js";
export type { WebhookCreateParams } from "./resources/webhooks.js";
export type { Auth } from "./resources/auth.js";
export type { Businesses, Members, ApiKeys } from "./resources/businesses.js";
export type { Leads } from "./resources/leads.js";
export type { Appointments } from "./resources/appointments.js";
export type { Agents } from "./resources/agents.js";
export type { Calls } from "./resources/calls.js";
export type { SmsMessages, Emails } from "./resources/messaging.js";
export type { Analytics } from "./resources/analytics.js";
export type { Webhooks } from "./resources/webhooks.js";
