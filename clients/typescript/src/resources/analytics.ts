import type { AnalyticsOverview, ScoredLeads } from "../models.js";
import { Resource, type RequestOptions } from "./shared.js";

export interface AnalyticsParams {
  business_id?: string;
  /** An ISO 8601 instant, or a bare date (that day in the business's time zone). */
  start_date?: string;
  end_date?: string;
}

/** `/analytics/*`, for the admin and user roles. */
export class Analytics extends Resource {
  overview(params?: AnalyticsParams, options?: RequestOptions): Promise<AnalyticsOverview> {
    return this.http.request({ method: "GET", path: "/analytics/overview", query: params }, options);
  }

  scoredLeads(params?: AnalyticsParams, options?: RequestOptions): Promise<ScoredLeads> {
    return this.http.request({ method: "GET", path: "/analytics/leads/scored", query: params }, options);
  }
}
