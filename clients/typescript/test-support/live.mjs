// Shared by the test files (kept outside test/ so that `node --test test/` does not run it as a test).
// The suite runs against a live stack: run-tests.sh starts one and sets CLOUDGREET_BASE_URL.
import { randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { CloudGreetClient } from "../dist/index.js";

export const baseUrl = process.env.CLOUDGREET_BASE_URL;
if (!baseUrl) {
  throw new Error("CLOUDGREET_BASE_URL is not set: run clients/typescript/run-tests.sh, which starts a stack for the tests");
}

export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run clients/typescript/run-tests.sh`);
  return value;
}

/** A client for the stack; retries are quick so that the rate-limited suite stays fast. */
export function client(options = {}) {
  return new CloudGreetClient({ baseUrl, timeoutMs: 15_000, ...options });
}

export function uniqueEmail(tag = "user") {
  return `${tag}-${randomUUID()}@example.com`;
}

/** A random valid North American number (area code and exchange 2xx-9xx). */
export function uniquePhone() {
  const digits = randomBytes(8);
  const area = 200 + (digits.readUInt16BE(0) % 800);
  const exchange = 200 + (digits.readUInt16BE(2) % 800);
  const line = digits.readUInt16BE(4) % 10000;
  return `+1${area}${exchange}${String(line).padStart(4, "0")}`;
}

/** Registers a new user (admin of a new business) and returns the session and a client using its token. */
export async function registerAdmin(tag = "admin", clientOptions = {}) {
  const anonymous = client(clientOptions);
  const session = await anonymous.auth.register({
    email: uniqueEmail(tag),
    password: "correct horse battery",
    business_name: `${tag} business`,
    first_name: "Test",
    last_name: tag,
  });
  return { session, client: client({ ...clientOptions, token: session.token }) };
}

/** Decodes a JWT's payload without checking it. */
export function jwtPayload(token) {
  const [, payload] = token.split(".");
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
}

/** Polls `probe` until it returns a truthy value, at most `timeoutMs`. */
export async function eventually(probe, { timeoutMs = 8000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) return last;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Sends a raw request (for what the SDK does not send itself, e.g. provider webhooks). */
export async function rawPost(path, body, headers = {}) {
  const response = await fetch(baseUrl + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

/** An ISO time `days` ahead at 15:00 UTC (inside any business's day when no hours are set). */
export function future(days, hourUTC = 15, minute = 0) {
  const date = new Date(Date.now() + days * 86_400_000);
  date.setUTCHours(hourUTC, minute, 0, 0);
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A webhook endpoint on 127.0.0.1 (a free port) for the stack's own webhooks: records every POST
 * (`{ path, headers, body }`, the body as a Buffer, header names lower-case) and answers `status`.
 */
export async function startReceiver(status = 200) {
  const received = [];
  const waiters = new Set();
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ path: request.url, headers: request.headers, body: Buffer.concat(chunks) });
      for (const wake of waiters) wake();
      response.writeHead(status, { "content-length": "0", connection: "close" });
      response.end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/cloudgreet/webhooks`,
    received,
    /** The requests `matches` accepts, once there are `count` of them (fewer after `timeoutMs`). */
    async waitFor(matches, { count = 1, timeoutMs = 20_000 } = {}) {
      const found = () => received.filter(matches);
      const deadline = Date.now() + timeoutMs;
      while (found().length < count && Date.now() < deadline) {
        await new Promise((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
          waiters.add(wake);
        });
      }
      return found();
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
