/**
 * Errors thrown by the client. Every API error carries the HTTP `status`, the envelope's `code`
 * (`LEAD_NOT_FOUND`, `VALIDATION_ERROR`, ...), its `details` and the `requestId` to quote when
 * asking for support. Network failures and time-outs are `ConnectionError`s with `status` 0.
 */

/** `details` of a 422: every bad field (dotted for nested ones) with its messages. */
export type FieldErrors = Record<string, string[]>;

export interface CloudGreetErrorInit {
  status: number;
  code: string;
  details?: Record<string, unknown>;
  requestId?: string;
  /** Headers of the response, when there was one. */
  headers?: Headers;
  cause?: unknown;
}

export class CloudGreetError extends Error {
  /** HTTP status; 0 when no response arrived (connection failure, time-out, abort). */
  readonly status: number;
  /** The envelope's `code`, e.g. `LEAD_NOT_FOUND`; `CONNECTION_ERROR` / `TIMEOUT` for network failures. */
  readonly code: string;
  /** The envelope's `details` (always an object; `{}` when the API had nothing to add). */
  readonly details: Record<string, unknown>;
  /** The request id (`requestId` of the envelope, else the `X-Request-Id` header); "" when unknown. */
  readonly requestId: string;
  /** Response headers, when there was a response. */
  readonly headers: Headers | undefined;
  readonly cause: unknown;

  constructor(message: string, init: CloudGreetErrorInit) {
    super(message);
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? {};
    this.requestId = init.requestId ?? "";
    this.headers = init.headers;
    this.cause = init.cause;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** 400: the body was not valid JSON, or a token (password reset) is invalid. */
export class BadRequestError extends CloudGreetError {}

/** 401: no credentials, a bad/expired/revoked token or API key, or a wrong password at login. */
export class AuthenticationError extends CloudGreetError {}

/** 403: the role may not do this, or `business_id` names another business. */
export class PermissionDeniedError extends CloudGreetError {}

/** 404: the resource is missing or belongs to another business (`LEAD_NOT_FOUND`, ...). */
export class NotFoundError extends CloudGreetError {}

/** 409: a duplicate (`details.existing_id`) or an overlapping appointment (`details.conflicting_id`). */
export class ConflictError extends CloudGreetError {}

/** 413: the body is larger than the server accepts. */
export class PayloadTooLargeError extends CloudGreetError {}

/** 422: field-level problems; `details` maps each bad field to its messages. */
export class ValidationError extends CloudGreetError {
  /** `details` as field errors (entries that are not lists of strings are left out). */
  get fieldErrors(): FieldErrors {
    const result: FieldErrors = {};
    for (const [field, messages] of Object.entries(this.details)) {
      if (Array.isArray(messages)) result[field] = messages.map(String);
    }
    return result;
  }
}

/** 429: still rate limited after the client's retries. */
export class RateLimitError extends CloudGreetError {
  /** `Retry-After` in milliseconds, when the server sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, init: CloudGreetErrorInit & { retryAfterMs?: number }) {
    super(message, init);
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** 500: an unexpected server error. */
export class InternalServerError extends CloudGreetError {}

/** 502: Telnyx, Retell or SMTP failed after the server's own retries (`details.id` names the record). */
export class ExternalServiceError extends CloudGreetError {}

/** 503: a service is down or timed out, still so after the client's retries. */
export class ServiceUnavailableError extends CloudGreetError {}

/** No response: the connection failed, or the request was aborted. */
export class ConnectionError extends CloudGreetError {
  constructor(message: string, init: Partial<CloudGreetErrorInit> = {}) {
    super(message, { ...init, status: 0, code: init.code ?? "CONNECTION_ERROR" });
  }
}

/** No response within `timeoutMs`. */
export class TimeoutError extends ConnectionError {
  constructor(message: string, init: Partial<CloudGreetErrorInit> = {}) {
    super(message, { ...init, code: "TIMEOUT" });
  }
}

type ErrorClass = new (message: string, init: CloudGreetErrorInit & { retryAfterMs?: number }) => CloudGreetError;

const byStatus: Record<number, ErrorClass> = {
  400: BadRequestError,
  401: AuthenticationError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  413: PayloadTooLargeError,
  422: ValidationError,
  429: RateLimitError,
  500: InternalServerError,
  502: ExternalServiceError,
  503: ServiceUnavailableError,
};

/** The error for an API answer with a non-2xx status (`body` is the parsed envelope, if any). */
export function errorFromResponse(
  status: number,
  body: unknown,
  headers: Headers,
  extra: { retryAfterMs?: number; statusText?: string } = {},
): CloudGreetError {
  const envelope = isObject(body) ? body : {};
  const code = typeof envelope.code === "string" ? envelope.code : `HTTP_${status}`;
  const message =
    typeof envelope.error === "string" && envelope.error !== ""
      ? envelope.error
      : `HTTP ${status}${extra.statusText ? ` ${extra.statusText}` : ""}`;
  const details = isObject(envelope.details) ? envelope.details : {};
  const requestId =
    typeof envelope.requestId === "string" && envelope.requestId !== ""
      ? envelope.requestId
      : headers.get("x-request-id") ?? "";
  const ErrorType = byStatus[status] ?? CloudGreetError;
  return new ErrorType(message, { status, code, details, requestId, headers, retryAfterMs: extra.retryAfterMs });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
