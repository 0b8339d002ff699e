import type {
  Deleted,
  Page,
  PageParams,
  Webhook,
  WebhookDelivery,
  WebhookEventQueued,
  WebhookEventType,
  WebhookWithSecret,
} from "../models.js";
import { Resource, segment, type RequestOptions } from "./shared.js";

export interface WebhookCreateParams {
  /** Where events are POSTed (at most 2048 characters); https outside development. */
  url: string;
  /** At least one event type; repeats count once. */
  events: WebhookEventType[];
}

/**
 * `/webhooks*` (messaging): the business's endpoints for CloudGreet's own events, admins only (a
 * user or agent gets a `PermissionDeniedError`). Each delivery is signed with the endpoint's
 * secret: check it with `verifyCloudGreetSignature`. Another business's endpoint is a 404.
 */
export class Webhooks extends Resource {
  /** Newest first; never the secrets. */
  list(params?: PageParams, options?: RequestOptions): Promise<Page<Webhook>> {
    return this.http.list("/webhooks", "webhooks", params, options);
  }

  /** Every endpoint, fetched page by page (`limit` per page, default 100). */
  iterate(params: PageParams = {}, options?: RequestOptions): AsyncGenerator<Webhook, void, undefined> {
    const limit = params.limit ?? 100;
    return this.http.paginate((page) => this.list({ ...params, page, limit }, options), params.page ?? 1);
  }

  /**
   * Registers an endpoint; the answer's `secret` is shown only this once. Outside development a
   * `url` that is not https, or resolves to a private or loopback address, is a `ValidationError`.
   */
  create(params: WebhookCreateParams, options?: RequestOptions): Promise<WebhookWithSecret> {
    return this.http.request({ method: "POST", path: "/webhooks", body: params }, options);
  }

  /** Drops the endpoint, its deliveries not made yet and its delivery log. */
  delete(id: string, options?: RequestOptions): Promise<Deleted> {
    return this.http.request({ method: "DELETE", path: `/webhooks/${segment(id)}` }, options);
  }

  /** Queues a `webhook.test` event for this endpoint alone (delivered like any other). */
  test(id: string, options?: RequestOptions): Promise<WebhookEventQueued> {
    return this.http.request({ method: "POST", path: `/webhooks/${segment(id)}/test` }, options);
  }

  /** The endpoint's delivery log: every attempt, newest first, with `status_code` (null without an answer). */
  deliveries(id: string, params?: PageParams, options?: RequestOptions): Promise<Page<WebhookDelivery>> {
    return this.http.list(`/webhooks/${segment(id)}/deliveries`, "deliveries", params, options);
  }

  /** Every attempt in the endpoint's log, fetched page by page (`limit` per page, default 100). */
  iterateDeliveries(id: string, params: PageParams = {}, options?: RequestOptions): AsyncGenerator<WebhookDelivery, void, undefined> {
    const limit = params.limit ?? 100;
    return this.http.paginate((page) => this.deliveries(id, { ...params, page, limit }, options), params.page ?? 1);
  }

  /** Sends one event (`evt_...`, as the log names it) to this endpoint again, under the same event id. */
  redeliver(id: string, eventId: string, options?: RequestOptions): Promise<WebhookEventQueued> {
    return this.http.request(
      { method: "POST", path: `/webhooks/${segment(id)}/deliveries/${segment(eventId)}/redeliver` },
      options,
    );
  }
}
