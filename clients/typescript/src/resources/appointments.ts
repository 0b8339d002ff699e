import type { Appointment, AppointmentStatus, Page, PageParams, Reminder } from "../models.js";
import { Resource, segment, type RequestOptions } from "./shared.js";

export interface AppointmentListParams extends PageParams {
  business_id?: string;
  status?: AppointmentStatus;
  /** ISO 8601; filters `scheduled_date` (inclusive). */
  start_date?: string;
  /** ISO 8601; filters `scheduled_date` (exclusive). */
  end_date?: string;
}

export interface AppointmentCreateParams {
  business_id?: string;
  lead_id: string;
  /** ISO 8601 with an offset, in the future, inside the business's opening hours. */
  scheduled_date: string;
  /** Minutes, 5..480 (default 30). */
  duration?: number;
  status?: "scheduled" | "confirmed";
  type?: string;
  notes?: string;
  /** What the job is worth (>= 0, two decimals at most). */
  value?: number | null;
}

export interface AppointmentUpdateParams {
  business_id?: string;
  scheduled_date?: string;
  duration?: number;
  status?: AppointmentStatus;
  type?: string | null;
  notes?: string | null;
  value?: number | null;
}

export interface RemindParams {
  method: "sms" | "email";
  /** Default: a text naming the business and the local date and time. */
  message?: string;
}

/** `/appointments*` (crm). Lists are by `scheduled_date`, soonest first. */
export class Appointments extends Resource {
  list(params?: AppointmentListParams, options?: RequestOptions): Promise<Page<Appointment>> {
    return this.http.list("/appointments", "appointments", params, options);
  }

  /** Every appointment matching `params`, page by page (`limit` per page, default 100). */
  iterate(params: AppointmentListParams = {}, options?: RequestOptions): AsyncGenerator<Appointment, void, undefined> {
    const limit = params.limit ?? 100;
    return this.http.paginate((page) => this.list({ ...params, page, limit }, options), params.page ?? 1);
  }

  /** An overlap is a `ConflictError` with `details.conflicting_id`; an unknown lead a `NotFoundError`. */
  create(params: AppointmentCreateParams, options?: RequestOptions): Promise<Appointment> {
    return this.http.request({ method: "POST", path: "/appointments", body: params }, options);
  }

  get(id: string, options?: RequestOptions): Promise<Appointment> {
    return this.http.request({ method: "GET", path: `/appointments/${segment(id)}` }, options);
  }

  update(id: string, params: AppointmentUpdateParams, options?: RequestOptions): Promise<Appointment> {
    return this.http.request({ method: "PUT", path: `/appointments/${segment(id)}`, body: params }, options);
  }

  /** `DELETE /appointments/{id}`: sets the status to `cancelled` and returns it; repeating is harmless. */
  cancel(id: string, options?: RequestOptions): Promise<Appointment> {
    return this.http.request({ method: "DELETE", path: `/appointments/${segment(id)}` }, options);
  }

  /** Sends a reminder to the lead now, by SMS or email. */
  remind(id: string, params: RemindParams, options?: RequestOptions): Promise<Reminder> {
    return this.http.request({ method: "POST", path: `/appointments/${segment(id)}/remind`, body: params }, options);
  }
}
