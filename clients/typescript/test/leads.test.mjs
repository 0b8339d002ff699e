// Leads: create, pagination (list and iterate across pages), errors (404, 422, 409), qualify, delete.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConflictError, NotFoundError, ValidationError } from "../dist/index.js";
import { registerAdmin, uniquePhone } from "../test-support/live.mjs";

const { session, client } = await registerAdmin("leads");
const businessId = session.business.id;

test("create a lead: a national phone number comes back in E.164; defaults are web/new", async () => {
  const lead = await client.leads.create({ business_id: businessId, name: "John Doe", phone: "(555) 123-4567", notes: "Line one\nline two" });
  assert.match(lead.id, /^lead_/);
  assert.equal(lead.phone, "+15551234567");
  assert.equal(lead.source, "web");
  assert.equal(lead.status, "new");
  assert.equal(lead.notes, "Line one\nline two");
  assert.equal(lead.business_id, businessId);
  assert.deepEqual(await client.leads.get(lead.id), lead);
});

test("pagination: more leads than `limit`, listed page by page and iterated across pages", async () => {
  const tag = `page-${Date.now()}`;
  const created = [];
  for (let index = 0; index < 23; index++) {
    created.push(await client.leads.create({ name: `${tag} ${index}`, email: `${tag}-${index}@example.com`, source: "email" }));
  }
  const first = await client.leads.list({ business_id: businessId, search: tag, limit: 10 });
  assert.deepEqual(first.pagination, { page: 1, limit: 10, total: 23, pages: 3 });
  assert.equal(first.items.length, 10);
  // Newest first.
  assert.equal(first.items[0].id, created[22].id);
  const last = await client.leads.list({ search: tag, limit: 10, page: 3 });
  assert.equal(last.items.length, 3);
  assert.equal(last.items[2].id, created[0].id);

  const seen = [];
  for await (const lead of client.leads.iterate({ search: tag, limit: 10 })) seen.push(lead.id);
  assert.equal(seen.length, 23);
  assert.equal(new Set(seen).size, 23);
  assert.deepEqual([...seen].sort(), created.map((lead) => lead.id).sort());

  // Filters travel as query parameters; the total of the whole business counts every lead.
  const all = await client.leads.list({ limit: 1 });
  assert.ok(all.pagination.total >= 24);
  const bySource = await client.leads.list({ source: "email", search: tag, limit: 100 });
  assert.equal(bySource.pagination.total, 23);
});

test("a missing lead is a NotFoundError with LEAD_NOT_FOUND and the request id", async () => {
  await assert.rejects(client.leads.get("lead_01ARZ3NDEKTSV4RRFFQ69G5FAV"), (error) => {
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.status, 404);
    assert.equal(error.code, "LEAD_NOT_FOUND");
    assert.match(error.requestId, /^req_\S+/);
    assert.equal(error.headers.get("x-request-id"), error.requestId);
    assert.deepEqual(error.details, {});
    return true;
  });
  // A client-chosen request id is kept by the gateway and reported on the error.
  await assert.rejects(client.leads.get("lead_01ARZ3NDEKTSV4RRFFQ69G5FAV", { requestId: "sdk-test.42" }), (error) => {
    assert.equal(error.requestId, "sdk-test.42");
    return true;
  });
});

test("field problems are a ValidationError (422) naming every bad field", async () => {
  await assert.rejects(client.leads.create({ name: "Bad", phone: "not a phone", email: "nope" }), (error) => {
    assert.ok(error instanceof ValidationError);
    assert.equal(error.status, 422);
    assert.equal(error.code, "VALIDATION_ERROR");
    assert.ok(Array.isArray(error.details.phone) && error.details.phone.length > 0);
    assert.ok(Array.isArray(error.details.email) && error.details.email.length > 0);
    assert.deepEqual(Object.keys(error.fieldErrors).sort(), ["email", "phone"]);
    assert.match(error.requestId, /\S/);
    return true;
  });
  await assert.rejects(client.leads.list({ limit: 0 }), (error) => {
    assert.ok(error instanceof ValidationError);
    assert.ok(error.details.limit);
    return true;
  });
  await assert.rejects(client.leads.create({ name: "Neither phone nor email" }), (error) => {
    assert.ok(error instanceof ValidationError);
    assert.ok(error.details.phone);
    return true;
  });
});

test("the same phone twice is a ConflictError naming the existing lead", async () => {
  const phone = uniquePhone();
  const first = await client.leads.create({ phone });
  await assert.rejects(client.leads.create({ phone }), (error) => {
    assert.ok(error instanceof ConflictError);
    assert.equal(error.status, 409);
    assert.equal(error.code, "RESOURCE_ALREADY_EXISTS");
    assert.equal(error.details.existing_id, first.id);
    return true;
  });
});

test("update, qualify and delete a lead", async () => {
  const lead = await client.leads.create({ phone: uniquePhone(), name: "To Qualify" });
  const updated = await client.leads.update(lead.id, { name: "Qualified Person", notes: "called back" });
  assert.equal(updated.name, "Qualified Person");
  assert.equal(updated.phone, lead.phone, "fields not sent are kept");

  const qualified = await client.leads.qualify(lead.id, {
    criteria: { budget: "high", timeline: "immediate", decision_maker: true, urgency: "medium" },
  });
  assert.equal(qualified.qualification.score, 30 + 25 + 20 + 9);
  assert.equal(qualified.qualification_score, 84);
  assert.equal(qualified.status, "qualified");
  assert.equal(qualified.qualification.breakdown.length, 5);
  await assert.rejects(
    client.leads.qualify(lead.id, { criteria: { budget: "enormous", timeline: "immediate", decision_maker: true } }),
    (error) => error instanceof ValidationError && Array.isArray(error.details["criteria.budget"]),
  );

  const deleted = await client.leads.delete(lead.id);
  assert.equal(deleted.id, lead.id);
  assert.equal(deleted.deleted, true);
  assert.equal(deleted.erasure.status, "complete"); // every service was up
  assert.deepEqual(deleted.erasure.pending, []);
  assert.match(deleted.erasure.id, /^erasure_/);
  await assert.rejects(client.leads.get(lead.id), NotFoundError);
});
