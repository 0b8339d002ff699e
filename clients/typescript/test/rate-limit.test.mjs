// 429: more than RATE_LIMIT_AUTHENTICATED (40) requests inside one RATE_LIMIT_WINDOW_SECONDS (2 s)
// window; the client waits `Retry-After` and every call still succeeds.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RateLimitError } from "../dist/index.js";
import { client, registerAdmin } from "../test-support/live.mjs";

const limit = Number(process.env.RATE_LIMIT_AUTHENTICATED ?? 0);
const windowSeconds = Number(process.env.RATE_LIMIT_WINDOW_SECONDS ?? 0);

/** Waits until a fresh window has just begun (windows are aligned to the epoch), so the burst lands in one. */
async function startOfWindow() {
  const windowMs = windowSeconds * 1000;
  const wait = windowMs - (Date.now() % windowMs) + 20;
  await new Promise((resolve) => setTimeout(resolve, wait));
}

test("a burst over the limit is retried after Retry-After and every call succeeds", { timeout: 30_000 }, async (t) => {
  if (!(limit > 0 && limit <= 100 && windowSeconds > 0 && windowSeconds <= 5)) {
    t.skip("needs RATE_LIMIT_AUTHENTICATED <= 100 and RATE_LIMIT_WINDOW_SECONDS <= 5 (run-tests.sh sets 40 and 2)");
    return;
  }
  const { session } = await registerAdmin("burst");
  const retries = [];
  const burst = client({ token: session.token, maxRetries: 3, onRetry: (info) => retries.push(info) });
  const count = limit + 20;
  await startOfWindow();
  const started = Date.now();
  const results = await Promise.all(Array.from({ length: count }, () => burst.leads.list({ limit: 1 })));
  const elapsed = Date.now() - started;

  assert.equal(results.length, count);
  for (const page of results) assert.equal(page.pagination.page, 1);
  const limited = retries.filter((info) => info.status === 429);
  assert.ok(limited.length >= count - limit, `expected at least ${count - limit} retries of a 429, saw ${limited.length}`);
  for (const info of limited) {
    assert.ok(info.attempt >= 1 && info.attempt <= 3);
    // Retry-After is whole seconds until the window ends (at least 1).
    assert.ok(info.delayMs >= 1000 && info.delayMs <= windowSeconds * 1000, `delay ${info.delayMs} ms`);
    assert.equal(info.method, "GET");
    assert.equal(info.path, "/leads");
    assert.match(info.requestId, /\S/);
  }
  assert.ok(elapsed >= 900, "the retried calls waited for Retry-After");
});

test("without retries the 429 surfaces as a RateLimitError with retryAfterMs", { timeout: 30_000 }, async (t) => {
  if (!(limit > 0 && limit <= 100 && windowSeconds > 0 && windowSeconds <= 5)) {
    t.skip("needs a small rate limit");
    return;
  }
  const { session } = await registerAdmin("burst-noretry");
  const burst = client({ token: session.token, maxRetries: 0 });
  await startOfWindow();
  const settled = await Promise.allSettled(Array.from({ length: limit + 5 }, () => burst.leads.list({ limit: 1 })));
  const refused = settled.filter((result) => result.status === "rejected").map((result) => result.reason);
  assert.ok(refused.length >= 5, `expected at least 5 refusals, saw ${refused.length}`);
  for (const error of refused) {
    assert.ok(error instanceof RateLimitError, String(error));
    assert.equal(error.status, 429);
    assert.equal(error.code, "RATE_LIMIT_EXCEEDED");
    assert.ok(error.retryAfterMs >= 1000);
    assert.equal(error.headers.get("x-ratelimit-limit"), String(limit));
  }
});
