import type { Call, CallDetail, CallDirection, CallStatus, Page, PageParams } from "../models.js";
import { Resource, segment, type RequestOptions } from "./shared.js";

export interface CallListParams extends PageParams {
  business_id?: string;
  lead_id?: string;
  status?: CallStatus;
  direction?: CallDirection;
  /** ISO 8601; filters `created_at` (inclusive). */
  start_date?: string;
  /** ISO 8601; filters `created_at` (exclusive). */
  end_date?: string;
}

/** `/calls*` (voice-agent): read only; calls are recorded from the telephony webhooks. */
export class Calls extends Resource {
  list(params?: CallListParams, options?: RequestOptions): Promise<Page<Call>> {
    return this.http.list("/calls", "calls", params, options);
  }

  /** Every call matching `params`, page by page (`limit` per page, default 100). */
  iterate(params: CallListParams = {}, options?: RequestOptions): AsyncGenerator<Call, void, undefined> {
    const limit = params.limit ?? 100;
    return this.http.paginate((page) => this.list({ ...params, page, limit }, options), params.page ?? 1);
  }

  /** One call with its transcript and analysis. */
  get(id: string, options?: RequestOptions): Promise<CallDetail> {
    return this.http.request({ method: "GET", path: `/calls/${segment(id)}` }, options);
  }
}
