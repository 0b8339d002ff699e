// Webhook signatures: the SDK's checks accept what is signed and refuse what was tampered with,
// and agree with the live stack (`/sms/webhook` for Telnyx, `/retell/webhook` for Retell) on the
// same headers, edge cases included. And the webhooks the stack itself sends (`client.webhooks`),
// received on a local endpoint and checked with `verifyCloudGreetSignature`.
import assert from "node:assert/strict";
import { createHmac, createPrivateKey, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { test } from "node:test";
import {
  CLOUDGREET_SIGNATURE_HEADER,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
  checkCloudGreetSignature,
  checkRetellSignature,
  checkTelnyxSignature,
  signCloudGreet,
  verifyCloudGreetSignature,
  verifyRetellSignature,
  verifyTelnyxSignature,
} from "../dist/index.js";
import { client as newClient, env, eventually, rawPost, registerAdmin, startReceiver, uniquePhone } from "../test-support/live.mjs";

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

// MARK: the webhooks CloudGreet sends

const hookSecret = "whsec_test_0123456789abcdef";
const hookBody = '{"id":"evt_01","type":"lead.created","created_at":"2024-01-15T10:30:00Z","data":{"id":"lead_1"}}';
const hookNow = 1_700_000_000;

function hookDigest(stamp, body = hookBody, secret = hookSecret) {
  return createHmac("sha256", secret).update(`${stamp}.${body}`).digest("hex");
}

function checkHook(signature, options = {}) {
  return checkCloudGreetSignature({ rawBody: hookBody, signature, secret: hookSecret, now: hookNow, ...options });
}

const refusedFor = (reason) => ({ valid: false, reason });

test("CloudGreet signatures: a round trip; a tampered body and a wrong secret are refused", () => {
  const header = signCloudGreet({ rawBody: hookBody, secret: hookSecret, timestamp: hookNow });
  assert.equal(header, `t=${hookNow},v1=${hookDigest(hookNow)}`);
  assert.deepEqual(checkHook(header), { valid: true });
  assert.equal(verifyCloudGreetSignature({ rawBody: new TextEncoder().encode(hookBody), signature: header, secret: hookSecret, now: hookNow }), true);
  assert.equal(verifyCloudGreetSignature({ rawBody: hookBody, signature: [header, "t=1,v1=00"], secret: hookSecret, now: new Date(hookNow * 1000) }), true);
  const fresh = signCloudGreet({ rawBody: hookBody, secret: hookSecret }); // now
  assert.equal(verifyCloudGreetSignature({ rawBody: hookBody, signature: fresh, secret: hookSecret }), true);
  assert.equal(signCloudGreet({ rawBody: hookBody, secret: hookSecret, timestamp: new Date(hookNow * 1000 + 999) }), header);
  assert.equal(CLOUDGREET_SIGNATURE_HEADER, "cloudgreet-signature");

  assert.deepEqual(checkHook(header, { rawBody: hookBody.replace("lead_1", "lead_2") }), refusedFor("mismatch"));
  assert.deepEqual(checkHook(header, { rawBody: hookBody + " " }), refusedFor("mismatch"));
  assert.deepEqual(checkHook(header, { rawBody: JSON.stringify(JSON.parse(hookBody), null, 1) }), refusedFor("mismatch"));
  assert.deepEqual(checkHook(header, { secret: "whsec_another" }), refusedFor("mismatch"));
  // The timestamp is signed: another t with the same v1 does not verify.
  assert.deepEqual(checkHook(`t=${hookNow + 1},v1=${hookDigest(hookNow)}`), refusedFor("mismatch"));
  for (const secret of ["", undefined, null, 42]) {
    assert.throws(() => checkHook(header, { secret }), TypeError, String(secret));
  }
});

test("CloudGreet signatures: stale and future timestamps, and the tolerance", () => {
  const header = signCloudGreet({ rawBody: hookBody, secret: hookSecret, timestamp: hookNow });
  assert.deepEqual(checkHook(header, { now: hookNow + 300 }), { valid: true });
  assert.deepEqual(checkHook(header, { now: hookNow - 300 }), { valid: true });
  assert.deepEqual(checkHook(header, { now: hookNow + 301 }), refusedFor("stale"));
  assert.deepEqual(checkHook(header, { now: hookNow - 301 }), refusedFor("stale")); // from the future
  assert.deepEqual(checkHook(header, { now: undefined }), refusedFor("stale")); // long ago: stale today
  assert.deepEqual(checkHook(header, { now: hookNow + 3600, toleranceSeconds: 3600 }), { valid: true });
  assert.deepEqual(checkHook(header, { now: hookNow + 61, toleranceSeconds: 60 }), refusedFor("stale"));
  const future = signCloudGreet({ rawBody: hookBody, secret: hookSecret, timestamp: Math.floor(Date.now() / 1000) + 400 });
  assert.equal(verifyCloudGreetSignature({ rawBody: hookBody, signature: future, secret: hookSecret }), false);
});

test("CloudGreet signatures: several v1 values, one matching is enough", () => {
  const good = hookDigest(hookNow);
  const old = hookDigest(hookNow, hookBody, "whsec_old");
  for (const header of [`t=${hookNow},v1=${old},v1=${good}`, `t=${hookNow},v1=${good},v1=${old}`, `v1=${old},t=${hookNow},v1=${good}`, `t=${hookNow},v1=zz,v1=${good}`]) {
    assert.deepEqual(checkHook(header), { valid: true }, header);
  }
  assert.deepEqual(checkHook(`t=${hookNow},v1=${old},v1=${[...old].reverse().join("")}`), refusedFor("mismatch"));
});

test("CloudGreet signatures: header details and malformed headers, as the server reads them", () => {
  const good = hookDigest(hookNow);
  for (const header of [
    `t=${hookNow}, v1=${good}`, // spaces around parts and values are trimmed
    ` t = ${hookNow} ,\tv1=${good} `,
    `,,t=${hookNow},,v1=${good},`, // empty parts are skipped
    `t=1,t=${hookNow},v1=${good}`, // the last t wins
    `t=${hookNow},v0=abc,x=1,v1=${good}`, // unknown parts are ignored
  ]) {
    assert.deepEqual(checkHook(header), { valid: true }, header);
  }
  const decimal = `${hookNow}.0`; // the timestamp text as sent is what was signed
  assert.deepEqual(checkHook(`t=${decimal},v1=${hookDigest(decimal)}`), { valid: true });
  assert.deepEqual(checkHook(`t=${decimal},v1=${good}`), refusedFor("mismatch"));

  const cases = [
    [undefined, "missing"],
    [null, "missing"],
    [[], "missing"],
    ["", "malformed"],
    ["garbage", "malformed"],
    [",", "malformed"],
    ["t=,v1=", "malformed"],
    [`v1=${good}`, "malformed"],
    [`t=${hookNow}`, "malformed"],
    [`t=${hookNow},v1=`, "malformed"],
    [`t=${hookNow};v1=${good}`, "malformed"],
    [`t=soon,v1=${good}`, "malformed"],
    [`t=${hookNow}s,v1=${good}`, "malformed"],
    [`T=${hookNow},v1=${good}`, "malformed"],
    [`t=${hookNow},V1=${good}`, "malformed"],
    [`t=nan,v1=${good}`, "stale"],
    [`t=inf,v1=${good}`, "stale"],
    [`t=${hookNow},v1=${good.toUpperCase()}`, "mismatch"], // lower-case hex, as signed
    [`t=${hookNow},v1=${good.slice(1)}`, "mismatch"],
    [`t=${hookNow},v1=${good}0`, "mismatch"],
    [`t=${hookNow},v1=\u00e9${good.slice(1)}`, "mismatch"],
  ];
  for (const [header, reason] of cases) {
    assert.deepEqual(checkHook(header), refusedFor(reason), JSON.stringify(header));
  }
});

test("the stack's own webhooks: a new lead is delivered signed, logged, tested, redelivered; then deleted", async () => {
  const { client } = await registerAdmin("hooks");
  const receiver = await startReceiver();
  try {
    const hook = await client.webhooks.create({ url: receiver.url, events: ["lead.created"] });
    assert.match(hook.id, /^webhook_/);
    assert.match(hook.secret, /^whsec_/);
    assert.deepEqual(
      { url: hook.url, events: hook.events, status: hook.status, failing_since: hook.failing_since },
      { url: receiver.url, events: ["lead.created"], status: "active", failing_since: null },
    );
    const listed = [];
    for await (const each of client.webhooks.iterate()) listed.push(each);
    assert.deepEqual(listed.map((each) => each.id), [hook.id]);
    assert.equal("secret" in listed[0], false, "a listing never shows the secret");

    // A new lead is POSTed to the endpoint, signed with the secret.
    const lead = await client.leads.create({ name: "Hook Lead", phone: uniquePhone() });
    const [first] = await receiver.waitFor((r) => r.headers["cloudgreet-event-type"] === "lead.created");
    assert.ok(first, "no lead.created delivery within 20 s");
    assert.equal(first.path, "/cloudgreet/webhooks");
    assert.equal(first.headers["content-type"], "application/json");
    const signature = first.headers[CLOUDGREET_SIGNATURE_HEADER];
    assert.match(signature, /^t=\d+,v1=[0-9a-f]{64}$/);
    assert.deepEqual(checkCloudGreetSignature({ rawBody: first.body, signature, secret: hook.secret }), { valid: true });
    assert.equal(verifyCloudGreetSignature({ rawBody: first.body.toString("utf8"), signature, secret: hook.secret }), true);
    const tampered = first.body.toString("utf8").replace("Hook Lead", "Hook Leak");
    assert.deepEqual(checkCloudGreetSignature({ rawBody: tampered, signature, secret: hook.secret }), refusedFor("mismatch"));
    assert.equal(verifyCloudGreetSignature({ rawBody: first.body, signature, secret: hook.secret + "x" }), false);
    const event = JSON.parse(first.body.toString("utf8"));
    assert.match(event.id, /^evt_/);
    assert.equal(event.type, "lead.created");
    assert.equal(event.data.id, lead.id);
    assert.equal(event.data.phone, lead.phone);
    assert.equal(first.headers["cloudgreet-event-id"], event.id);

    // The delivery log shows the attempt and the endpoint's 2xx.
    const attempt = await eventually(async () => {
      const log = await client.webhooks.deliveries(hook.id);
      return log.items.find((each) => each.event_id === event.id && each.status_code >= 200 && each.status_code < 300);
    }, { timeoutMs: 20_000, intervalMs: 200 });
    assert.ok(attempt, "the delivery log shows no successful attempt");
    assert.deepEqual(
      { event_type: attempt.event_type, attempt: attempt.attempt, status_code: attempt.status_code, error: attempt.error },
      { event_type: "lead.created", attempt: 1, status_code: 200, error: null },
    );
    assert.ok(attempt.duration_ms >= 0);
    const everyAttempt = [];
    for await (const each of client.webhooks.iterateDeliveries(hook.id, { limit: 1 })) everyAttempt.push(each);
    assert.ok(everyAttempt.some((each) => each.id === attempt.id));

    // A test event, for this endpoint alone.
    const queued = await client.webhooks.test(hook.id);
    assert.equal(queued.queued, true);
    assert.match(queued.event_id, /^evt_/);
    const [tested] = await receiver.waitFor((r) => r.headers["cloudgreet-event-id"] === queued.event_id);
    assert.ok(tested, "the test event did not arrive within 20 s");
    assert.equal(verifyCloudGreetSignature({ rawBody: tested.body, signature: tested.headers[CLOUDGREET_SIGNATURE_HEADER], secret: hook.secret }), true);
    const testEvent = JSON.parse(tested.body.toString("utf8"));
    assert.equal(testEvent.type, "webhook.test");
    assert.equal(testEvent.data.webhook_id, hook.id);

    // A redelivery carries the same event id and data, signed again.
    assert.deepEqual(await client.webhooks.redeliver(hook.id, event.id), { event_id: event.id, queued: true });
    const copies = await receiver.waitFor((r) => r.headers["cloudgreet-event-id"] === event.id, { count: 2 });
    assert.equal(copies.length, 2, "the redelivery did not arrive within 20 s");
    assert.equal(verifyCloudGreetSignature({ rawBody: copies[1].body, signature: copies[1].headers[CLOUDGREET_SIGNATURE_HEADER], secret: hook.secret }), true);
    assert.deepEqual(JSON.parse(copies[1].body.toString("utf8")), event);
    await assert.rejects(client.webhooks.redeliver(hook.id, "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV"), NotFoundError);
    assert.equal(receiver.received.filter((r) => r.headers["cloudgreet-event-type"] === "lead.created").length, 2);

    // Deleting drops the endpoint and its log.
    assert.deepEqual(await client.webhooks.delete(hook.id), { id: hook.id, deleted: true });
    assert.deepEqual((await client.webhooks.list()).items, []);
    await assert.rejects(client.webhooks.deliveries(hook.id), (error) => error instanceof NotFoundError && error.code === "RESOURCE_NOT_FOUND");
    await assert.rejects(client.webhooks.delete(hook.id), NotFoundError);
  } finally {
    await receiver.close();
  }
});

test("the stack's own webhooks: admins only (a user gets 403); an unknown event type is a 422", async () => {
  const { session, client } = await registerAdmin("hooks-roles");
  const key = await client.businesses.apiKeys.create(session.business.id, { name: "webhooks user", role: "user" });
  const user = newClient({ apiKey: key.key });
  await assert.rejects(user.webhooks.list(), (error) => {
    assert.ok(error instanceof PermissionDeniedError);
    assert.equal(error.status, 403);
    assert.equal(error.code, "AUTH_INSUFFICIENT_PERMISSIONS");
    return true;
  });
  await assert.rejects(user.webhooks.create({ url: "http://127.0.0.1:9/hooks", events: ["lead.created"] }), PermissionDeniedError);
  await assert.rejects(client.webhooks.create({ url: "http://127.0.0.1:9/hooks", events: ["lead.created", "lead.exploded"] }), (error) => {
    assert.ok(error instanceof ValidationError);
    assert.equal(error.status, 422);
    assert.equal(error.code, "VALIDATION_ERROR");
    assert.ok(Array.isArray(error.details.events), JSON.stringify(error.details));
    return true;
  });
  await assert.rejects(client.webhooks.create({ url: "http://127.0.0.1:9/hooks", events: [] }), (error) => error instanceof ValidationError && !!error.details.events);
  await assert.rejects(client.webhooks.test("webhook_01ARZ3NDEKTSV4RRFFQ69G5FAV"), NotFoundError);
  const other = await registerAdmin("hooks-other");
  const theirs = await other.client.webhooks.create({ url: "http://127.0.0.1:9/hooks", events: ["sms.received"] });
  await assert.rejects(client.webhooks.deliveries(theirs.id), NotFoundError); // another business's endpoint
  assert.deepEqual(await other.client.webhooks.delete(theirs.id), { id: theirs.id, deleted: true });
});
