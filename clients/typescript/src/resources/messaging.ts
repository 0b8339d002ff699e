import type { Email, EmailStatus, Page, PageParams, Sms, SmsStatus } from "../models.js";
import { Resource, type RequestOptions } from "./shared.js";

export interface SmsListParams extends PageParams {
  business_id?: string;
  lead_id?: string;
  status?: SmsStatus;
  direction?: "inbound" | "outbound";
}

export interface SmsSendParams {
  business_id?: string;
  /** The lead's phone is used unless `phone` is given. */
  lead_id?: string;
  phone?: string;
  /** 1-1600 characters. */
  message: string;
}

export interface EmailListParams extends PageParams {
  business_id?: string;
  lead_id?: string;
  status?: EmailStatus;
}

export interface EmailSendParams {
  business_id?: string;
  lead_id?: string;
  to: string;
  subject: string;
  content: string;
}

/** `/sms` (messaging). A number that texted STOP is refused (`ValidationError` on `phone`). */
export class SmsMessages extends Resource {
  list(params?: SmsListParams, options?: RequestOptions): Promise<Page<Sms>> {
    return this.http.list("/sms", "sms", params, options);
  }

  /** Telnyx failing after retries is an `ExternalServiceError` with `details.id` (kept as `failed`). */
  send(params: SmsSendParams, options?: RequestOptions): Promise<Sms> {
    return this.http.request({ method: "POST", path: "/sms", body: params }, options);
  }
}

/** `/emails` (messaging). */
export class Emails extends Resource {
  list(params?: EmailListParams, options?: RequestOptions): Promise<Page<Email>> {
    return this.http.list("/emails", "emails", params, options);
  }

  send(params: EmailSendParams, options?: RequestOptions): Promise<Email> {
    return this.http.request({ method: "POST", path: "/emails", body: params }, options);
  }
}
