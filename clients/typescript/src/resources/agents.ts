import type {
  Agent,
  AgentStatus,
  AgentStatusReport,
  BehaviorSettings,
  Deleted,
  OpeningHours,
  Page,
  PageParams,
  VoiceSettings,
} from "../models.js";
import { Resource, segment, type RequestOptions } from "./shared.js";

export interface AgentListParams extends PageParams {
  business_id?: string;
  status?: AgentStatus;
}

export interface AgentCreateParams {
  business_id?: string;
  /** 1-100 characters. */
  name: string;
  voice_settings?: VoiceSettings;
  behavior_settings?: BehaviorSettings;
  /** In the business's time zone; none (or null) means always. */
  working_hours?: OpeningHours | null;
}

export interface AgentUpdateParams {
  business_id?: string;
  name?: string;
  /** Each settings object is replaced whole. */
  voice_settings?: VoiceSettings;
  behavior_settings?: BehaviorSettings;
  working_hours?: OpeningHours | null;
}

/** `/agents*` (voice-agent). Creating, changing, starting and stopping need the admin role. */
export class Agents extends Resource {
  list(params?: AgentListParams, options?: RequestOptions): Promise<Page<Agent>> {
    return this.http.list("/agents", "agents", params, options);
  }

  create(params: AgentCreateParams, options?: RequestOptions): Promise<Agent> {
    return this.http.request({ method: "POST", path: "/agents", body: params }, options);
  }

  get(id: string, options?: RequestOptions): Promise<Agent> {
    return this.http.request({ method: "GET", path: `/agents/${segment(id)}` }, options);
  }

  /** With Retell configured, Retell refusing the change is an `ExternalServiceError` and nothing is saved. */
  update(id: string, params: AgentUpdateParams, options?: RequestOptions): Promise<Agent> {
    return this.http.request({ method: "PUT", path: `/agents/${segment(id)}`, body: params }, options);
  }

  delete(id: string, options?: RequestOptions): Promise<Deleted> {
    return this.http.request({ method: "DELETE", path: `/agents/${segment(id)}` }, options);
  }

  /** Idempotent; returns the agent. Retell failing is an `ExternalServiceError` (the agent stays stopped). */
  start(id: string, options?: RequestOptions): Promise<Agent> {
    return this.http.request({ method: "POST", path: `/agents/${segment(id)}/start` }, options);
  }

  /** Idempotent; returns the agent. */
  stop(id: string, options?: RequestOptions): Promise<Agent> {
    return this.http.request({ method: "POST", path: `/agents/${segment(id)}/stop` }, options);
  }

  status(id: string, options?: RequestOptions): Promise<AgentStatusReport> {
    return this.http.request({ method: "GET", path: `/agents/${segment(id)}/status` }, options);
  }
}
