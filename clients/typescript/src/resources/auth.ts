import type { AuthSession, Registration } from "../models.js";
import { Resource, type RequestOptions } from "./shared.js";

export interface RegisterParams {
  email: string;
  /** 8 characters to 72 bytes. */
  password: string;
  business_name: string;
  first_name?: string;
  last_name?: string;
}

export interface LoginParams {
  email: string;
  password: string;
  /** Which of the user's businesses the token is for (default: the first). */
  business_id?: string;
}

/** `/auth/*`. The token a session returns is used with `client.setToken(session.token)` or a new client. */
export class Auth extends Resource {
  /** Creates a user, who becomes admin of a new business (201). */
  register(params: RegisterParams, options?: RequestOptions): Promise<Registration> {
    return this.http.request({ method: "POST", path: "/auth/register", body: params }, options);
  }

  login(params: LoginParams, options?: RequestOptions): Promise<AuthSession> {
    return this.http.request({ method: "POST", path: "/auth/login", body: params }, options);
  }

  /** Revokes the token this client sends (user tokens only; revoke API keys instead). */
  async logout(options?: RequestOptions): Promise<void> {
    await this.http.request({ method: "POST", path: "/auth/logout" }, options);
  }

  /** Always succeeds with the same answer, whether or not the email has an account. */
  async forgotPassword(params: { email: string }, options?: RequestOptions): Promise<void> {
    await this.http.request({ method: "POST", path: "/auth/forgot-password", body: params }, options);
  }

  /** An unknown, used or expired token is a `BadRequestError` (400, `AUTH_INVALID_TOKEN`). */
  async resetPassword(params: { token: string; password: string }, options?: RequestOptions): Promise<void> {
    await this.http.request({ method: "POST", path: "/auth/reset-password", body: params }, options);
  }
}
