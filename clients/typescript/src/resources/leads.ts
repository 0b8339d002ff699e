import type { Lead, LeadErased, LeadSource, LeadStatus, Page, PageParams, QualificationCriteria, QualifiedLead } from "../models.js";
import { Resource, segment, type RequestOptions } from "./shared.js";

export interface LeadListParams extends PageParams {
  /** Optional; when given it must be the caller's business (else 403). */
  business_id?: string;
  status?: LeadStatus;
  source?: LeadSource;
  /** Name, email or phone, case-insensitive substring. */
  search?: string;
}

export interface LeadCreateParams {
  business_id?: string;
  /** At least one of `phone` and `email`. E.164 or a national format. */
  phone?: string;
  email?: string;
  name?: string;
  source?: LeadSource;
  status?: LeadStatus;
  notes?: string;
}

export interface LeadUpdateParams {
  business_id?: string;
  name?: string | null;
  phone?: string | null;
  email?: string | null;
  status?: LeadStatus;
  source?: LeadSource;
  notes?: string | null;
}

/** `/leads*` (crm). Lists are newest first. */
export class Leads extends Resource {
  list(params?: LeadListParams, options?: RequestOptions): Promise<Page<Lead>> {
    return this.http.list("/leads", "leads", params, options);
  }

  /**
   * Every lead matching `params`, fetched page by page (`limit` per page, default 100). Leads
   * created while iterating may shift pages (the list is newest first).
   */
  iterate(params: LeadListParams = {}, options?: RequestOptions): AsyncGenerator<Lead, void, undefined> {
    const limit = params.limit ?? 100;
    return this.http.paginate((page) => this.list({ ...params, page, limit }, options), params.page ?? 1);
  }

  /** A duplicate phone or email in the business is a `ConflictError` with `details.existing_id`. */
  create(params: LeadCreateParams, options?: RequestOptions): Promise<Lead> {
    return this.http.request({ method: "POST", path: "/leads", body: params }, options);
  }

  get(id: string, options?: RequestOptions): Promise<Lead> {
    return this.http.request({ method: "GET", path: `/leads/${segment(id)}` }, options);
  }

  /** Changes only the fields sent. */
  update(id: string, params: LeadUpdateParams, options?: RequestOptions): Promise<Lead> {
    return this.http.request({ method: "PUT", path: `/leads/${segment(id)}`, body: params }, options);
  }

  /** Erases the person everywhere (admin): the lead, and their data on calls, texts and emails. */
  delete(id: string, options?: RequestOptions): Promise<LeadErased> {
    return this.http.request({ method: "DELETE", path: `/leads/${segment(id)}` }, options);
  }

  /** Scores the lead (0-100) and sets its status to `qualified` or `unqualified`. */
  qualify(id: string, params: { criteria: QualificationCriteria }, options?: RequestOptions): Promise<QualifiedLead> {
    return this.http.request({ method: "POST", path: `/leads/${segment(id)}/qualify`, body: params }, options);
  }
}
