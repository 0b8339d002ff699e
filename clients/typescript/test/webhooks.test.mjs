// Webhook signatures: the SDK's checks accept what is signed and refuse what was tampered with,
// and agree with the live stack (`/sms/webhook` for Telnyx, `/retell/webhook` for Retell) on the
// same headers, edge cases included.
import assert from "node:assert/strict";
import { createHmac, createPrivateKey, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { test } from "node:test";
import { checkRetellSignature, checkTelnyxSignature, verifyRetellSignature, verifyTelnyxSignature } from "../dist/index.js";
import { env, eventually, rawPost, registerAdmin, uniquePhone } from "../test-support/live.mjs";

const telnyxPublicKey = env("TELNYX_PUBLIC_KEY");
const telnyxPrivateKey = createPrivateKey(env("CLOUDGREET_TEST_TELNYX_PRIVATE_KEY"));
const retellKey = env("RETELL_API_KEY");

function telnyxSign(body, timestamp, key = telnyxPrivateKey) {
  return sign(null, Buffer.from(`${timestamp}|${body}`, "utf8"), key).toString("base64");
}

function retellSign(body, timestampMs, key = retellKey) {
  return createHmac("sha256", key).update(body + timestampMs).digest("hex");
}

function messageReceived(from, to, text) {
  return JSON.stringify({
    data: {
      event_type: "message.received",
      id: randomUUID(),
      occurred_at: new Date().toISOString(),
      payload: { id: randomUUID(), from: { phone_number: from }, to: [{ phone_number: to }], text, direction: "inbound" },
      record_type: "event",
    },
    meta: { attempt: 1, delivered_to: "https://example.com/api/sms/webhook" },
  });
}

function callAnalyzed(callId) {
  return JSON.stringify({
    event: "call_analyzed",
    call: {
      call_id: callId,
      transcript: "Agent: Hello! User: I'd like a quote.",
      call_analysis: { call_summary: "Asked for a quote", user_sentiment: "Positive", custom_analysis_data: { outcome: "information_provided" } },
    },
  });
}

const postTelnyx = (body, headers) => rawPost("/sms/webhook", body, headers);
const postRetell = (body, headers) => rawPost("/retell/webhook", body, headers);

test("Telnyx: a signed message webhook is accepted by the SDK and the stack; a tampered copy by neither", async () => {
  const { session, client } = await registerAdmin("telnyx");
  const businessNumber = uniquePhone();
  await client.businesses.update(session.business.id, { settings: { phone_number: businessNumber } });
  const sender = uniquePhone();
  const body = messageReceived(sender, businessNumber, "Hello, I'm interested in your services");
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = telnyxSign(body, timestamp);

  assert.equal(verifyTelnyxSignature({ rawBody: body, signature, timestamp, publicKey: telnyxPublicKey }), true);
  assert.equal(verifyTelnyxSignature({ rawBody: new TextEncoder().encode(body), signature, timestamp, publicKey: telnyxPublicKey }), true);
  const tampered = body.replace("interested", "uninterested");
  assert.deepEqual(checkTelnyxSignature({ rawBody: tampered, signature, timestamp, publicKey: telnyxPublicKey }), {
    valid: false,
    reason: "mismatch",
  });

  const accepted = await postTelnyx(body, { "telnyx-signature-ed25519": signature, "telnyx-timestamp": timestamp });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.json));
  assert.equal(accepted.json.data.received, true);
  assert.equal(accepted.json.data.duplicate, false);
  const refused = await postTelnyx(tampered, { "telnyx-signature-ed25519": signature, "telnyx-timestamp": timestamp });
  assert.equal(refused.status, 401);
  assert.equal(refused.json.code, "AUTH_INVALID_TOKEN");

  // The accepted text reached the business: the sender became an SMS lead and the message is listed.
  const lead = await eventually(async () => (await client.leads.list({ source: "sms", search: sender.slice(2) })).items[0]);
  assert.ok(lead, "the inbound text created no lead");
  assert.equal(lead.phone, sender);
  const inbound = await eventually(async () => (await client.sms.list({ direction: "inbound" })).items[0]);
  assert.equal(inbound?.message, "Hello, I'm interested in your services");
  assert.equal(inbound?.status, "received");
});

test("Telnyx: stale, missing and malformed signatures, checked locally and by the stack alike", async () => {
  const now = Math.floor(Date.now() / 1000);
  const other = generateKeyPairSync("ed25519").privateKey;
  const cases = [];
  const add = (name, build) => {
    const body = messageReceived(uniquePhone(), uniquePhone(), `case ${name}`);
    cases.push({ name, body, ...build(body) });
  };
  add("valid", (body) => ({ timestamp: String(now), signature: telnyxSign(body, now) }));
  add("decimal timestamp", (body) => ({ timestamp: `${now}.0`, signature: telnyxSign(body, `${now}.0`) }));
  add("stale", (body) => ({ timestamp: String(now - 301), signature: telnyxSign(body, now - 301) }));
  add("future", (body) => ({ timestamp: String(now + 400), signature: telnyxSign(body, now + 400) }));
  add("other key", (body) => ({ timestamp: String(now), signature: telnyxSign(body, now, other) }));
  add("no timestamp", (body) => ({ timestamp: undefined, signature: telnyxSign(body, now) }));
  add("no signature", () => ({ timestamp: String(now), signature: undefined }));
  add("unpadded base64", (body) => ({ timestamp: String(now), signature: telnyxSign(body, now).replace(/=+$/, "") }));
  add("timestamp with a space", (body) => ({ timestamp: ` ${now}`, signature: telnyxSign(body, ` ${now}`) }));
  add("signature of another timestamp", (body) => ({ timestamp: String(now), signature: telnyxSign(body, now - 1) }));

  const expected = {
    valid: true,
    "decimal timestamp": true,
    stale: "stale",
    future: "stale",
    "other key": "mismatch",
    "no timestamp": "missing",
    "no signature": "missing",
    "unpadded base64": "malformed",
    "timestamp with a space": "malformed",
    "signature of another timestamp": "mismatch",
  };
  for (const item of cases) {
    const check = checkTelnyxSignature({ rawBody: item.body, signature: item.signature, timestamp: item.timestamp, publicKey: telnyxPublicKey });
    assert.deepEqual(check, expected[item.name] === true ? { valid: true } : { valid: false, reason: expected[item.name] }, item.name);
    const headers = {};
    if (item.signature !== undefined) headers["telnyx-signature-ed25519"] = item.signature;
    if (item.timestamp !== undefined) headers["telnyx-timestamp"] = item.timestamp;
    const answer = await postTelnyx(item.body, headers);
    assert.equal(answer.status, check.valid ? 200 : 401, `${item.name}: the stack answered ${answer.status}, the SDK said ${JSON.stringify(check)}`);
  }
  assert.throws(() => verifyTelnyxSignature({ rawBody: "{}", signature: "", timestamp: String(now), publicKey: "not a key" }), TypeError);
});

test("Retell: a signed call webhook is accepted by the SDK and the stack; a tampered copy by neither", async () => {
  const body = callAnalyzed(`call_${randomUUID()}`);
  const timestamp = Date.now();
  const header = `v=${timestamp},d=${retellSign(body, timestamp)}`;
  assert.equal(verifyRetellSignature({ rawBody: body, signature: header, apiKey: retellKey }), true);
  const tampered = body.replace("a quote", "a refund");
  assert.deepEqual(checkRetellSignature({ rawBody: tampered, signature: header, apiKey: retellKey }), { valid: false, reason: "mismatch" });
  assert.equal(verifyRetellSignature({ rawBody: body, signature: header, apiKey: retellKey + "x" }), false);

  const accepted = await postRetell(body, { "x-retell-signature": header });
  assert.equal(accepted.status, 200, JSON.stringify(accepted.json));
  assert.equal(accepted.json.data.received, true);
  const refused = await postRetell(tampered, { "x-retell-signature": header });
  assert.equal(refused.status, 401);
  assert.equal(refused.json.code, "AUTH_INVALID_TOKEN");

  // The seed's body is accepted as well.
  const seedBody = JSON.stringify({
    event_type: "conversation.ended",
    data: { conversation_id: `conv_${randomUUID()}`, transcript: "Hello, this is John...", outcome: "information_provided" },
  });
  const seedHeader = `v=${timestamp},d=${retellSign(seedBody, timestamp)}`;
  assert.equal(verifyRetellSignature({ rawBody: seedBody, signature: seedHeader, apiKey: retellKey }), true);
  assert.equal((await postRetell(seedBody, { "x-retell-signature": seedHeader })).status, 200);
});

test("Retell: header variants, checked locally and by the stack alike", async () => {
  const now = Date.now();
  const cases = [];
  const add = (name, expected, build) => {
    const body = callAnalyzed(`call_${randomUUID()}`);
    cases.push({ name, expected, body, header: build(body) });
  };
  add("valid", true, (body) => `v=${now},d=${retellSign(body, now)}`);
  add("upper-case digest", true, (body) => `v=${now},d=${retellSign(body, now).toUpperCase()}`);
  add("digest first, spaces after commas", true, (body) => `d=${retellSign(body, now)}, v=${now}`);
  add("unknown parts and empty ones", true, (body) => `,x=1,v=${now},,d=${retellSign(body, now)},`);
  add("the last v wins", true, (body) => `v=1,v=${now},d=${retellSign(body, now)}`);
  add("decimal timestamp", true, (body) => `v=${now}.0,d=${retellSign(body, `${now}.0`)}`);
  add("stale", "stale", (body) => `v=${now - 301_000},d=${retellSign(body, now - 301_000)}`);
  add("future", "stale", (body) => `v=${now + 400_000},d=${retellSign(body, now + 400_000)}`);
  add("short digest", "malformed", (body) => `v=${now},d=${retellSign(body, now).slice(1)}`);
  add("no timestamp", "malformed", (body) => `d=${retellSign(body, now)}`);
  add("space inside the value", "malformed", (body) => `v= ${now},d=${retellSign(body, now)}`);
  add("timestamp in seconds signed as ms", "stale", (body) => `v=${Math.floor(now / 1000)},d=${retellSign(body, Math.floor(now / 1000))}`);
  add("signed with another key", "mismatch", (body) => `v=${now},d=${retellSign(body, now, "another key")}`);
  add("missing", "missing", () => undefined);

  for (const item of cases) {
    const check = checkRetellSignature({ rawBody: item.body, signature: item.header, apiKey: retellKey });
    assert.deepEqual(check, item.expected === true ? { valid: true } : { valid: false, reason: item.expected }, item.name);
    const answer = await postRetell(item.body, item.header === undefined ? {} : { "x-retell-signature": item.header });
    assert.equal(answer.status, check.valid ? 200 : 401, `${item.name}: the stack answered ${answer.status}, the SDK said ${JSON.stringify(check)}`);
  }
});

test("tolerances and the clock can be given", () => {
  const body = "{}";
  const timestamp = "1700000000";
  const signature = telnyxSign(body, timestamp);
  const base = { rawBody: body, signature, timestamp, publicKey: telnyxPublicKey };
  assert.equal(verifyTelnyxSignature({ ...base, now: 1700000300 }), true);
  assert.equal(verifyTelnyxSignature({ ...base, now: 1700000301 }), false);
  assert.equal(verifyTelnyxSignature({ ...base, now: new Date(1700000010_000) }), true);
  assert.equal(verifyTelnyxSignature({ ...base, now: 1700000100, toleranceSeconds: 60 }), false);

  const ms = 1700000000000;
  const header = `v=${ms},d=${retellSign(body, ms)}`;
  assert.equal(verifyRetellSignature({ rawBody: body, signature: header, apiKey: retellKey, nowMs: ms + 300_000 }), true);
  assert.equal(verifyRetellSignature({ rawBody: body, signature: header, apiKey: retellKey, nowMs: ms + 300_001 }), false);
  assert.equal(verifyRetellSignature({ rawBody: body, signature: header, apiKey: retellKey, nowMs: ms + 1000, toleranceMs: 500 }), false);
});
