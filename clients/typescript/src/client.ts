import { HttpClient, type ClientOptions, type RequestOptions } from "./http.js";
import type { HealthReport } from "./models.js";
import { Agents } from "./resources/agents.js";
import { Analytics } from "./resources/analytics.js";
import { Appointments } from "./resources/appointments.js";
import { Auth } from "./resources/auth.js";
import { Businesses } from "./resources/businesses.js";
import { Calls } from "./resources/calls.js";
import { Leads } from "./resources/leads.js";
import { Emails, SmsMessages } from "./resources/messaging.js";
import { Webhooks } from "./resources/webhooks.js";

/**
 * The CloudGreet API client.
 *
 * ```ts
 * const client = new CloudGreetClient({ apiKey: "cg_...", baseUrl: "https://cloudgreet.example/api" });
 * const leads = await client.leads.list({ business_id: "business_123" });
 * ```
 *
 * Every method resolves to the envelope's `data` (lists to `{ items, pagination }`) and throws a
 * `CloudGreetError` subclass otherwise. 429 and 503 are retried up to `maxRetries` times.
 */
export class CloudGreetClient {
  readonly auth: Auth;
  readonly businesses: Businesses;
  readonly leads: Leads;
  readonly appointments: Appointments;
  readonly agents: Agents;
  readonly calls: Calls;
  readonly sms: SmsMessages;
  readonly emails: Emails;
  readonly analytics: Analytics;
  readonly webhooks: Webhooks;
  private readonly http: HttpClient;

  constructor(options: ClientOptions = {}) {
    this.http = new HttpClient(options);
    this.auth = new Auth(this.http);
    this.businesses = new Businesses(this.http);
    this.leads = new Leads(this.http);
    this.appointments = new Appointments(this.http);
    this.agents = new Agents(this.http);
    this.calls = new Calls(this.http);
    this.sms = new SmsMessages(this.http);
    this.emails = new Emails(this.http);
    this.analytics = new Analytics(this.http);
    this.webhooks = new Webhooks(this.http);
  }

  /** The base URL requests go to (without a trailing slash). */
  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** Sends this user token from now on (replacing any API key or token). */
  setToken(token: string | undefined): void {
    this.http.setCredential(token);
  }

  /** Sends this API key from now on (replacing any API key or token). */
  setApiKey(apiKey: string | undefined): void {
    this.http.setCredential(apiKey);
  }

  /**
   * `GET /health` (public). The report is returned also when the stack is `unhealthy` (HTTP 503),
   * so check `overall`. `cache: false` forces fresh checks.
   */
  health(params: { detailed?: boolean; cache?: boolean } = {}, options: RequestOptions = {}): Promise<HealthReport> {
    return this.http.request<HealthReport>(
      { method: "GET", path: "/health", query: params, returnDataOn: [503] },
      { maxRetries: 0, ...options },
    );
  }
}
