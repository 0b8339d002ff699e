/**
 * The HTTP core: one place that adds credentials, sends JSON, unwraps the envelope, maps errors,
 * retries 429 and 503 (honouring `Retry-After`), and enforces the time-out. Only web-standard APIs
 * (`fetch`, `Headers`, `AbortController`, `URLSearchParams`), so it runs in Node >= 18 and browsers.
 */
import { CloudGreetError, ConnectionError, TimeoutError, errorFromResponse } from "./errors.js";
import type { Page, Pagination } from "./models.js";

export const SDK_VERSION = "0.1.0";

/** Told before each retry: which retry this is (1 = the first), the status that caused it, and the wait. */
export interface RetryInfo {
  attempt: number;
  status: number;
  delayMs: number;
  method: string;
  path: string;
  /** The request id of the answer that is being retried. */
  requestId: string;
}

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** An API key (`cg_...`), sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** A user token (JWT) from `auth.login` / `auth.register`, sent as `Authorization: Bearer`. */
  token?: string;
  /** The API's base URL, `/api` included. Default `http://localhost:8080/api`. */
  baseUrl?: string;
  /** Time-out of each attempt, in milliseconds (default 30000). */
  timeoutMs?: number;
  /** How many times a 429 or 503 is retried (default 3; 0 turns retries off). */
  maxRetries?: number;
  /** A `Retry-After` longer than this (ms, default 60000) is not waited for: the error is thrown at once. */
  maxRetryDelayMs?: number;
  /** Called before each retry. */
  onRetry?: (info: RetryInfo) => void;
  /** The `fetch` to use (default: the global one). */
  fetch?: FetchLike;
  /** Headers added to every request. */
  headers?: Record<string, string>;
}

/** Per-call options, accepted as the last argument of every method. */
export interface RequestOptions {
  /** Aborts the call (an abort is a `ConnectionError` with code `ABORTED`). */
  signal?: AbortSignal;
  timeoutMs?: number;
  maxRetries?: number;
  /** Sent as `X-Request-Id` (1-128 characters of `[A-Za-z0-9._-]`), kept across retries. */
  requestId?: string;
  /** Sent as `Idempotency-Key` on a POST (contract section 6); by default a fresh key per call. */
  idempotencyKey?: string;
  headers?: Record<string, string>;
}

export type QueryValue = string | number | boolean | null | undefined;
export type Query = { [key: string]: QueryValue };

export interface HttpCall {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  query?: object;
  body?: unknown;
  /** Statuses whose envelope `data` is returned rather than thrown (health's 503 report). */
  returnDataOn?: number[];
}

const DEFAULT_BASE_URL = "http://localhost:8080/api";

export class HttpClient {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly maxRetryDelayMs: number;
  private credential: string | undefined;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly headers: Record<string, string>;

  constructor(options: ClientOptions = {}) {
    if (options.apiKey !== undefined && options.token !== undefined) {
      throw new TypeError("CloudGreetClient: give apiKey or token, not both");
    }
    this.credential = options.apiKey ?? options.token;
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.timeoutMs = nonNegative(options.timeoutMs, 30_000, "timeoutMs");
    this.maxRetries = Math.floor(nonNegative(options.maxRetries, 3, "maxRetries"));
    this.maxRetryDelayMs = nonNegative(options.maxRetryDelayMs, 60_000, "maxRetryDelayMs");
    this.onRetry = options.onRetry;
    this.headers = { ...(options.headers ?? {}) };
    const fetchImpl = options.fetch ?? (typeof fetch === "function" ? fetch.bind(globalThis) : undefined);
    if (!fetchImpl) throw new TypeError("CloudGreetClient: no global fetch; pass options.fetch");
    this.fetchImpl = fetchImpl;
  }

  /** Replaces the credential (an API key or a token); undefined sends none. */
  setCredential(credential: string | undefined): void {
    this.credential = credential;
  }

  /** Sends the call and returns the envelope's `data`, retrying 429 and 503. */
  async request<T>(call: HttpCall, options: RequestOptions = {}): Promise<T> {
    const url = this.url(call.path, call.query as Query | undefined);
    const maxRetries = options.maxRetries ?? this.maxRetries;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const headers = new Headers(this.headers);
    headers.set("Accept", "application/json");
    if (this.credential) headers.set("Authorization", `Bearer ${this.credential}`);
    if (options.requestId) headers.set("X-Request-Id", options.requestId);
    // Every POST carries a key, the same on each retry, so the gateway runs it once however often
    // it is sent (contract section 6).
    if (call.method === "POST") headers.set("Idempotency-Key", options.idempotencyKey ?? globalThis.crypto.randomUUID());
    let body: string | undefined;
    if (call.body !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(call.body);
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value);

    for (let attempt = 0; ; attempt++) {
      const answer = await this.attempt(call.method, url, headers, body, timeoutMs, options.signal);
      const { response, parsed } = answer;
      if (response.ok || call.returnDataOn?.includes(response.status)) {
        if (isObject(parsed) && "data" in parsed) return parsed.data as T;
        if (response.ok && parsed === undefined) return undefined as T;
        throw new CloudGreetError(`Unexpected response from ${call.method} ${call.path}: no envelope`, {
          status: response.status,
          code: "INVALID_RESPONSE",
          requestId: response.headers.get("x-request-id") ?? "",
          headers: response.headers,
        });
      }
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      const error = errorFromResponse(response.status, parsed, response.headers, {
        retryAfterMs,
        statusText: response.statusText,
      });
      // A POST is safe to send again with its key; a 409 with IDEMPOTENCY_KEY_IN_USE means the first
      // try is still running, and is waited out.
      const retryable =
        response.status === 429 ||
        response.status === 503 ||
        (response.status === 409 && error.code === "IDEMPOTENCY_KEY_IN_USE");
      if (!retryable || attempt >= maxRetries) throw error;
      const delayMs = retryAfterMs ?? backoff(attempt);
      if (delayMs > this.maxRetryDelayMs) throw error;
      this.onRetry?.({
        attempt: attempt + 1,
        status: response.status,
        delayMs,
        method: call.method,
        path: call.path,
        requestId: error.requestId,
      });
      await sleep(delayMs, options.signal);
    }
  }

  /** Fetches every page of a list, `limit` items at a time. */
  async *paginate<T>(
    fetchPage: (page: number) => Promise<Page<T>>,
    startPage = 1,
  ): AsyncGenerator<T, void, undefined> {
    for (let page = startPage; ; page++) {
      const result = await fetchPage(page);
      for (const item of result.items) yield item;
      if (result.items.length === 0 || page >= result.pagination.pages) return;
    }
  }

  /** One list call: `data.<plural>` becomes `items`. */
  async list<T>(path: string, plural: string, query: object | undefined, options?: RequestOptions): Promise<Page<T>> {
    const data = await this.request<Record<string, unknown>>({ method: "GET", path, query }, options);
    const items = data?.[plural];
    const pagination = data?.pagination as Pagination | undefined;
    if (!Array.isArray(items) || !isObject(pagination)) {
      throw new CloudGreetError(`Unexpected list from GET ${path}: no "${plural}" and "pagination"`, {
        status: 200,
        code: "INVALID_RESPONSE",
      });
    }
    return { items: items as T[], pagination };
  }

  private url(path: string, query?: Query): string {
    let url = this.baseUrl + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value === undefined || value === null) continue;
        params.append(key, String(value));
      }
      const text = params.toString();
      if (text) url += `?${text}`;
    }
    return url;
  }

  private async attempt(
    method: string,
    url: string,
    headers: Headers,
    body: string | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ response: Response; parsed: unknown }> {
    if (signal?.aborted) throw new ConnectionError(`${method} ${url} was aborted`, { code: "ABORTED" });
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const relayAbort = () => controller.abort();
    signal?.addEventListener("abort", relayAbort, { once: true });
    try {
      const response = await this.fetchImpl(url, { method, headers, body, signal: controller.signal });
      const text = await response.text();
      let parsed: unknown = undefined;
      if (text !== "") {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
      }
      return { response, parsed };
    } catch (cause) {
      if (timedOut) throw new TimeoutError(`${method} ${url} timed out after ${timeoutMs} ms`, { cause });
      if (signal?.aborted) throw new ConnectionError(`${method} ${url} was aborted`, { code: "ABORTED", cause });
      const reason = cause instanceof Error ? describe(cause) : String(cause);
      throw new ConnectionError(`${method} ${url} failed: ${reason}`, { cause });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", relayAbort);
    }
  }
}

/** `Retry-After` as milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (!Number.isNaN(date)) return Math.max(0, date - now);
  return undefined;
}

/** 250 ms doubling per retry, at most 8 s, with jitter (half to all of it). */
function backoff(attempt: number): number {
  const base = Math.min(8_000, 250 * 2 ** attempt);
  return Math.round(base / 2 + Math.random() * (base / 2));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ConnectionError("The request was aborted", { code: "ABORTED" }));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ConnectionError("The request was aborted", { code: "ABORTED" }));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function describe(error: Error): string {
  // Node's fetch says "fetch failed" and puts the reason (ECONNREFUSED, ...) in `cause`.
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message) return `${error.message} (${cause.message})`;
  return error.message;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`CloudGreetClient: ${name} must be a number >= 0`);
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
