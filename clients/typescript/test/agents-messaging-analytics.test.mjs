// Agents (CRUD, status, a Retell failure as ExternalServiceError), calls, SMS, email and analytics.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ExternalServiceError, NotFoundError, ValidationError } from "../dist/index.js";
import { registerAdmin, uniquePhone } from "../test-support/live.mjs";

const { client } = await registerAdmin("voice");

test("agents: create, get, list, update, status, stop, delete", async () => {
  const agent = await client.agents.create({
    name: "Front Desk",
    voice_settings: { voice_id: "voice_123", speed: 1.0, pitch: 1.0 },
    behavior_settings: { personality: "professional", conversation_style: "friendly", escalation_triggers: ["angry"] },
    working_hours: { monday: { open: "09:00", close: "17:00" } },
  });
  assert.match(agent.id, /^agent_/);
  assert.equal(agent.is_active, false);
  assert.equal(agent.status, "inactive");
  assert.deepEqual(await client.agents.get(agent.id), agent);
  const inactive = await client.agents.list({ status: "inactive" });
  assert.ok(inactive.items.some((item) => item.id === agent.id));

  const updated = await client.agents.update(agent.id, { name: "Night Desk", working_hours: null });
  assert.equal(updated.name, "Night Desk");
  assert.equal(updated.working_hours, null);

  const status = await client.agents.status(agent.id);
  assert.deepEqual(status, { id: agent.id, status: "inactive", active_calls: 0, total_calls_today: 0, uptime: 0 });
  assert.equal((await client.agents.stop(agent.id)).is_active, false, "stop is idempotent");

  await assert.rejects(client.agents.create({ name: "Bad", voice_settings: { speed: 9 } }), (error) => {
    return error instanceof ValidationError && Array.isArray(error.details["voice_settings.speed"]);
  });

  assert.deepEqual(await client.agents.delete(agent.id), { id: agent.id, deleted: true });
  await assert.rejects(client.agents.get(agent.id), (error) => error instanceof NotFoundError && error.code === "AGENT_NOT_FOUND");
});

test("starting an agent when Retell cannot be reached is an ExternalServiceError (502); the agent stays stopped", async () => {
  // run-tests.sh points RETELL_API_BASE at a closed local port.
  const agent = await client.agents.create({ name: "Unreachable Retell" });
  await assert.rejects(client.agents.start(agent.id), (error) => {
    assert.ok(error instanceof ExternalServiceError);
    assert.equal(error.status, 502);
    assert.equal(error.code, "EXTERNAL_SERVICE_ERROR");
    assert.equal(error.details.agent_id, agent.id);
    return true;
  });
  assert.equal((await client.agents.get(agent.id)).is_active, false);
});

test("calls: an empty list, and an unknown call is a 404", async () => {
  const calls = await client.calls.list({ status: "completed" });
  assert.deepEqual(calls, { items: [], pagination: { page: 1, limit: 20, total: 0, pages: 0 } });
  const all = [];
  for await (const call of client.calls.iterate()) all.push(call);
  assert.deepEqual(all, []);
  await assert.rejects(client.calls.get("call_01ARZ3NDEKTSV4RRFFQ69G5FAV"), (error) => {
    return error instanceof NotFoundError && error.code === "RESOURCE_NOT_FOUND";
  });
});

test("sms and email: send (development sandbox) and list back", async () => {
  const lead = await client.leads.create({ phone: uniquePhone(), email: "messaging-lead@example.com" });
  const sms = await client.sms.send({ lead_id: lead.id, message: "Thank you for your interest!" });
  assert.match(sms.id, /^sms_/);
  assert.equal(sms.phone, lead.phone);
  assert.equal(sms.direction, "outbound");
  const texts = await client.sms.list({ lead_id: lead.id, direction: "outbound" });
  assert.deepEqual(texts.items.map((item) => item.id), [sms.id]);

  const email = await client.emails.send({ lead_id: lead.id, to: "messaging-lead@example.com", subject: "Hello", content: "Thanks!" });
  assert.match(email.id, /^email_/);
  const emails = await client.emails.list({ lead_id: lead.id });
  assert.deepEqual(emails.items.map((item) => item.id), [email.id]);

  await assert.rejects(client.sms.send({ message: "no recipient" }), (error) => error instanceof ValidationError && !!error.details.phone);
});

test("analytics: overview and scored leads", async () => {
  const overview = await client.analytics.overview();
  assert.ok(overview.leads.total >= 1);
  for (const block of ["leads", "appointments", "calls", "revenue"]) assert.equal(typeof overview[block], "object");
  const scored = await client.analytics.scoredLeads({ start_date: "2020-01-01" });
  assert.equal(typeof scored.average_score, "number");
  assert.deepEqual(Object.keys(scored.distribution).sort(), ["0-19", "20-39", "40-59", "60-79", "80-100"]);
  await assert.rejects(client.analytics.overview({ start_date: "2030-01-05", end_date: "2030-01-01" }), ValidationError);
});
