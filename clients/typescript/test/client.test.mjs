// The HTTP core against a scripted fetch: headers, query strings, retries, time-outs and error mapping.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CloudGreetClient,
  CloudGreetError,
  ConnectionError,
  InternalServerError,
  RateLimitError,
  ServiceUnavailableError,
  TimeoutError,
  parseRetryAfter,
} from "../dist/index.js";

function envelope(status, body, headers = {}) {
  return new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function scripted(answers) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    const next = answers.shift();
    if (!next) throw new Error("no more scripted answers");
    return typeof next === "function" ? next(url, init) : next;
  };
  return { fetch, calls };
}

const ok = (data) => envelope(200, { success: true, data, requestId: "req_ok", timestamp: "2024-01-15T10:30:00Z" });
const failure = (status, code, headers = {}, details = {}) =>
  envelope(status, { success: false, error: `failed ${status}`, code, details, requestId: `req_${status}` }, headers);

test("sends the bearer credential, JSON bodies, form-style query strings and escaped ids", async () => {
  const { fetch, calls } = scripted([
    ok({ leads: [], pagination: { page: 2, limit: 5, total: 0, pages: 0 } }),
    ok({ id: "lead_1" }),
    ok({ id: "a/b" }),
  ]);
  const client = new CloudGreetClient({ apiKey: "cg_secret", baseUrl: "http://api.test/api/", fetch });
  const page = await client.leads.list({ business_id: "business_1", search: "John Doe", page: 2, limit: 5, status: undefined });
  assert.deepEqual(page, { items: [], pagination: { page: 2, limit: 5, total: 0, pages: 0 } });
  assert.equal(calls[0].url, "http://api.test/api/leads?business_id=business_1&search=John+Doe&page=2&limit=5");
  assert.equal(calls[0].init.method, "GET");
  assert.equal(calls[0].init.headers.get("authorization"), "Bearer cg_secret");
  assert.equal(calls[0].init.body, undefined);

  await client.leads.create({ phone: "+15551234567" }, { idempotencyKey: "idem-1", requestId: "my.request-1" });
  assert.equal(calls[1].init.method, "POST");
  assert.equal(calls[1].init.headers.get("content-type"), "application/json");
  assert.equal(calls[1].init.headers.get("idempotency-key"), "idem-1");
  assert.equal(calls[1].init.headers.get("x-request-id"), "my.request-1");
  assert.deepEqual(JSON.parse(calls[1].init.body), { phone: "+15551234567" });

  client.setToken("jwt.token.here");
  await client.agents.get("a/b");
  assert.equal(calls[2].url, "http://api.test/api/agents/a%2Fb");
  assert.equal(calls[2].init.headers.get("authorization"), "Bearer jwt.token.here");
});

test("503 without Retry-After is retried with a short back-off, then succeeds", async () => {
  const { fetch, calls } = scripted([failure(503, "SERVICE_UNAVAILABLE"), failure(503, "SERVICE_UNAVAILABLE"), ok({ id: "lead_1" })]);
  const retries = [];
  const client = new CloudGreetClient({ token: "t", baseUrl: "http://api.test/api", fetch, onRetry: (info) => retries.push(info) });
  assert.deepEqual(await client.leads.get("lead_1"), { id: "lead_1" });
  assert.equal(calls.length, 3);
  assert.deepEqual(retries.map((info) => [info.attempt, info.status, info.requestId]), [[1, 503, "req_503"], [2, 503, "req_503"]]);
  assert.ok(retries[0].delayMs >= 125 && retries[0].delayMs <= 250, `first back-off ${retries[0].delayMs}`);
  assert.ok(retries[1].delayMs >= 250 && retries[1].delayMs <= 500, `second back-off ${retries[1].delayMs}`);
});

test("every POST carries an Idempotency-Key, the same on each retry, so even a bare 503 is retried", async () => {
  const { fetch, calls } = scripted([failure(503, "SERVICE_UNAVAILABLE"), ok({ id: "lead_1" }), ok({ id: "lead_2" }), ok({ id: "lead_1" })]);
  const client = new CloudGreetClient({ token: "t", baseUrl: "http://api.test/api", fetch });
  assert.deepEqual(await client.leads.create({ phone: "+15551234567" }), { id: "lead_1" });
  const keys = calls.map((call) => call.init.headers.get("idempotency-key"));
  assert.ok(keys[0] && keys[0] === keys[1]);
  await client.leads.create({ phone: "+15551234568" });
  await client.leads.get("lead_1");
  const later = calls.map((call) => call.init.headers.get("idempotency-key"));
  assert.ok(later[2] && later[2] !== later[0] && later[3] === null);
});

test("a key still in use is waited out; a duplicate is not retried", async () => {
  const busy = scripted([failure(409, "IDEMPOTENCY_KEY_IN_USE", { "retry-after": "0" }), ok({ id: "lead_1" })]);
  const client = new CloudGreetClient({ token: "t", baseUrl: "http://api.test/api", fetch: busy.fetch });
  assert.deepEqual(await client.leads.create({ phone: "+15551234567" }), { id: "lead_1" });
  assert.equal(busy.calls.length, 2);
  const duplicate = scripted([failure(409, "RESOURCE_ALREADY_EXISTS"), ok({ id: "lead_2" })]);
  const once = new CloudGreetClient({ token: "t", baseUrl: "http://api.test/api", fetch: duplicate.fetch });
  await assert.rejects(once.leads.create({ phone: "+15551234567" }), (error) => error.status === 409);
  assert.equal(duplicate.calls.length, 1);
});

test("retries stop at maxRetries; the last error is thrown", async () => {
  const { fetch, calls } = scripted([
    failure(429, "RATE_LIMIT_EXCEEDED", { "retry-after": "0" }),
    failure(429, "RATE_LIMIT_EXCEEDED", { "retry-after": "0" }),
    failure(429, "RATE_LIMIT_EXCEEDED", { "retry-after": "0" }),
  ]);
  const client = new CloudGreetClient({ baseUrl: "http://api.test/api", fetch, maxRetries: 2 });
  await assert.rejects(client.leads.list(), (error) => {
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.retryAfterMs, 0);
    assert.equal(error.requestId, "req_429");
    return true;
  });
  assert.equal(calls.length, 3);
});

test("a Retry-After longer than maxRetryDelayMs is not waited for; other errors are not retried", async () => {
  const { fetch, calls } = scripted([
    failure(503, "SERVICE_UNAVAILABLE", { "retry-after": "3600" }),
    failure(500, "INTERNAL_SERVER_ERROR"),
    envelope(502, "<html>Bad gateway</html>", { "content-type": "text/html", "x-request-id": "req_proxy" }),
  ]);
  const client = new CloudGreetClient({ baseUrl: "http://api.test/api", fetch, maxRetryDelayMs: 5000 });
  await assert.rejects(client.leads.list(), ServiceUnavailableError);
  await assert.rejects(client.leads.list(), InternalServerError);
  await assert.rejects(client.leads.list(), (error) => {
    assert.ok(error instanceof CloudGreetError);
    assert.equal(error.status, 502);
    assert.equal(error.code, "HTTP_502");
    assert.equal(error.requestId, "req_proxy");
    assert.deepEqual(error.details, {});
    return true;
  });
  assert.equal(calls.length, 3);
});

test("Retry-After as seconds or an HTTP date", () => {
  assert.equal(parseRetryAfter("2"), 2000);
  assert.equal(parseRetryAfter(" 1.5 "), 1500);
  assert.equal(parseRetryAfter(null), undefined);
  assert.equal(parseRetryAfter("soon"), undefined);
  const now = Date.parse("2024-01-15T10:30:00Z");
  assert.equal(parseRetryAfter("Mon, 15 Jan 2024 10:30:05 GMT", now), 5000);
});

test("a slow answer is a TimeoutError; an abort is a ConnectionError; a refused connection too", async () => {
  const hang = (_url, init) =>
    new Promise((_resolve, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
  const client = new CloudGreetClient({ baseUrl: "http://api.test/api", fetch: hang, timeoutMs: 50 });
  await assert.rejects(client.health(), (error) => {
    assert.ok(error instanceof TimeoutError);
    assert.ok(error instanceof ConnectionError);
    assert.equal(error.code, "TIMEOUT");
    assert.equal(error.status, 0);
    return true;
  });
  const controller = new AbortController();
  const pending = new CloudGreetClient({ baseUrl: "http://api.test/api", fetch: hang }).leads.list({}, { signal: controller.signal });
  controller.abort();
  await assert.rejects(pending, (error) => error instanceof ConnectionError && error.code === "ABORTED");

  const refused = new CloudGreetClient({ baseUrl: "http://127.0.0.1:9/api", maxRetries: 0 });
  await assert.rejects(refused.health(), (error) => {
    assert.ok(error instanceof ConnectionError);
    assert.equal(error.code, "CONNECTION_ERROR");
    assert.match(error.message, /127\.0\.0\.1:9/);
    return true;
  });
});

test("health returns the report also with HTTP 503 (unhealthy)", async () => {
  const report = { overall: "unhealthy", checks: [], timestamp: "t", version: "1.0.0", uptime: 1, environment: "test" };
  const { fetch, calls } = scripted([envelope(503, { success: true, data: report, requestId: "req_h" })]);
  const client = new CloudGreetClient({ baseUrl: "http://api.test/api", fetch });
  assert.deepEqual(await client.health({ cache: false }), report);
  assert.equal(calls[0].url, "http://api.test/api/health?cache=false");
  assert.equal(calls.length, 1);
});
