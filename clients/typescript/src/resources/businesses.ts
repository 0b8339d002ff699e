import type { HttpClient } from "../http.js";
import type { ApiKey, Business, BusinessSettings, CreatedApiKey, Page, PageParams, Role, User } from "../models.js";
import { Resource, segment, type RequestOptions } from "./shared.js";

export interface BusinessListParams extends PageParams {
  /** Matches the business name. */
  search?: string;
}

export interface BusinessCreateParams {
  name: string;
  settings?: BusinessSettings;
}

export interface BusinessUpdateParams {
  name?: string;
  /** Merged into the stored settings (keys not sent are kept; `business_hours` is replaced whole). */
  settings?: BusinessSettings;
}

export interface MemberAddParams {
  email: string;
  password: string;
  role: Role;
  first_name?: string;
  last_name?: string;
}

export interface ApiKeyCreateParams {
  name: string;
  role: Role;
}

export class Members extends Resource {
  list(businessId: string, params?: PageParams, options?: RequestOptions): Promise<Page<User>> {
    return this.http.list(`/businesses/${segment(businessId)}/members`, "members", params, options);
  }

  /** Creates a new user in the business (admin). */
  add(businessId: string, params: MemberAddParams, options?: RequestOptions): Promise<User> {
    return this.http.request({ method: "POST", path: `/businesses/${segment(businessId)}/members`, body: params }, options);
  }
}

export class ApiKeys extends Resource {
  list(businessId: string, params?: PageParams, options?: RequestOptions): Promise<Page<ApiKey>> {
    return this.http.list(`/businesses/${segment(businessId)}/api-keys`, "api_keys", params, options);
  }

  /** The answer's `key` is the secret, shown only this once (admin). */
  create(businessId: string, params: ApiKeyCreateParams, options?: RequestOptions): Promise<CreatedApiKey> {
    return this.http.request({ method: "POST", path: `/businesses/${segment(businessId)}/api-keys`, body: params }, options);
  }

  /** Idempotent; returns the key with `revoked_at` set. */
  revoke(businessId: string, keyId: string, options?: RequestOptions): Promise<ApiKey> {
    return this.http.request(
      { method: "DELETE", path: `/businesses/${segment(businessId)}/api-keys/${segment(keyId)}` },
      options,
    );
  }
}

/** `/businesses*`: only the caller's own business answers; any other id is a `NotFoundError`. */
export class Businesses extends Resource {
  readonly members: Members;
  readonly apiKeys: ApiKeys;

  constructor(http: HttpClient) {
    super(http);
    this.members = new Members(http);
    this.apiKeys = new ApiKeys(http);
  }

  list(params?: BusinessListParams, options?: RequestOptions): Promise<Page<Business>> {
    return this.http.list("/businesses", "businesses", params, options);
  }

  /** Needs a user token (API keys get a 403); the caller becomes its admin. */
  create(params: BusinessCreateParams, options?: RequestOptions): Promise<Business> {
    return this.http.request({ method: "POST", path: "/businesses", body: params }, options);
  }

  get(id: string, options?: RequestOptions): Promise<Business> {
    return this.http.request({ method: "GET", path: `/businesses/${segment(id)}` }, options);
  }

  update(id: string, params: BusinessUpdateParams, options?: RequestOptions): Promise<Business> {
    return this.http.request({ method: "PUT", path: `/businesses/${segment(id)}`, body: params }, options);
  }
}
