// Registration (JWT), login, API keys (a client built with `apiKey`), roles, and credential errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AuthenticationError,
  BadRequestError,
  CloudGreetClient,
  CloudGreetError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
} from "../dist/index.js";
import { baseUrl, client, jwtPayload, registerAdmin, uniqueEmail } from "../test-support/live.mjs";

test("health is public and reports every service", async () => {
  const report = await client().health({ cache: false });
  assert.equal(report.overall, "healthy");
  for (const service of ["gateway", "identity", "crm", "voice-agent", "messaging", "analytics"]) {
    assert.ok(report.checks.some((check) => check.name === service), `health has no check for ${service}`);
  }
});

test("the seed's constructor: new CloudGreetClient({ apiKey, baseUrl }) with the default base URL otherwise", () => {
  assert.equal(new CloudGreetClient({ apiKey: "cg_x", baseUrl: baseUrl + "/" }).baseUrl, baseUrl);
  assert.equal(new CloudGreetClient().baseUrl, "http://localhost:8080/api");
  assert.throws(() => new CloudGreetClient({ apiKey: "cg_x", token: "t" }), TypeError);
});

test("register returns a JWT for the new business's admin; login returns another", async () => {
  const email = uniqueEmail("register");
  const password = "correct horse battery";
  const anonymous = client();
  const registration = await anonymous.auth.register({ email, password, business_name: "Register Co", first_name: "Ada" });
  assert.equal(registration.token.split(".").length, 3);
  const claims = jwtPayload(registration.token);
  assert.equal(claims.role, "admin");
  assert.equal(claims.business_id, registration.business.id);
  assert.equal(claims.sub, registration.user.id);
  assert.equal(claims.iss, "cloudgreet-identity");
  assert.equal(claims.aud, "cloudgreet-api");
  assert.match(registration.user.id, /^user_/);
  assert.match(registration.business.id, /^business_/);
  assert.equal(registration.user.email, email);
  assert.equal(registration.expires_in, claims.exp - claims.iat);

  const login = await anonymous.auth.login({ email: email.toUpperCase(), password });
  assert.equal(jwtPayload(login.token).business_id, registration.business.id);
  assert.equal(login.user.role, "admin");

  await assert.rejects(anonymous.auth.login({ email, password: "wrong password!" }), (error) => {
    assert.ok(error instanceof AuthenticationError);
    assert.equal(error.status, 401);
    assert.equal(error.code, "AUTH_INVALID_CREDENTIALS");
    return true;
  });
  await assert.rejects(anonymous.auth.register({ email, password, business_name: "Again" }), (error) => {
    assert.ok(error instanceof ConflictError);
    assert.equal(error.code, "RESOURCE_ALREADY_EXISTS");
    return true;
  });
});

test("an API key created by the admin works as `apiKey`; the secret is never listed; revoking returns it", async () => {
  const { session, client: admin } = await registerAdmin("keys");
  const businessId = session.business.id;
  const created = await admin.businesses.apiKeys.create(businessId, { name: "integration", role: "admin" });
  assert.match(created.key, /^cg_[A-Za-z0-9_-]{43}$/);
  assert.match(created.id, /^key_/);
  assert.equal(created.prefix, created.key.slice(0, 10));

  const withKey = new CloudGreetClient({ apiKey: created.key, baseUrl });
  const businesses = await withKey.businesses.list();
  assert.deepEqual(businesses.items.map((business) => business.id), [businessId]);
  const lead = await withKey.leads.create({ business_id: businessId, name: "Key Lead", email: "key-lead@example.com" });
  assert.equal(lead.business_id, businessId);
  assert.equal((await withKey.leads.get(lead.id)).id, lead.id);

  const keys = await admin.businesses.apiKeys.list(businessId);
  const listed = keys.items.find((key) => key.id === created.id);
  assert.ok(listed);
  assert.equal(listed.key, undefined);
  assert.equal(listed.revoked_at, null);

  // API keys may not create businesses (a user is needed).
  await assert.rejects(withKey.businesses.create({ name: "Nope" }), PermissionDeniedError);

  const revoked = await admin.businesses.apiKeys.revoke(businessId, created.id);
  assert.equal(revoked.id, created.id);
  assert.ok(revoked.revoked_at);
});

test("a bad key is an AuthenticationError with AUTH_INVALID_TOKEN; no credentials is AUTH_REQUIRED", async () => {
  const bad = new CloudGreetClient({ apiKey: "cg_" + "x".repeat(43), baseUrl });
  await assert.rejects(bad.leads.list(), (error) => {
    assert.ok(error instanceof AuthenticationError);
    assert.ok(error instanceof CloudGreetError);
    assert.equal(error.status, 401);
    assert.equal(error.code, "AUTH_INVALID_TOKEN");
    assert.match(error.requestId, /\S/);
    return true;
  });
  await assert.rejects(client().leads.list(), (error) => {
    assert.ok(error instanceof AuthenticationError);
    assert.equal(error.code, "AUTH_REQUIRED");
    return true;
  });
});

test("roles: an `agent` key may not read analytics (403); another business's id is a 404", async () => {
  const { session, client: admin } = await registerAdmin("roles");
  const key = await admin.businesses.apiKeys.create(session.business.id, { name: "agent key", role: "agent" });
  const agentClient = client({ apiKey: key.key });
  await assert.rejects(agentClient.analytics.overview(), (error) => {
    assert.ok(error instanceof PermissionDeniedError);
    assert.equal(error.status, 403);
    assert.equal(error.code, "AUTH_INSUFFICIENT_PERMISSIONS");
    return true;
  });
  // The agent role may still read its business.
  assert.equal((await agentClient.businesses.get(session.business.id)).id, session.business.id);

  const other = await registerAdmin("roles-other");
  await assert.rejects(admin.businesses.get(other.session.business.id), (error) => {
    assert.ok(error instanceof NotFoundError);
    assert.equal(error.code, "BUSINESS_NOT_FOUND");
    return true;
  });
  // A business_id that is not the caller's in a query is a 403.
  await assert.rejects(admin.leads.list({ business_id: other.session.business.id }), PermissionDeniedError);
});

test("businesses: get, update (settings merge), create, members", async () => {
  const { session, client: admin } = await registerAdmin("biz");
  const id = session.business.id;
  const updated = await admin.businesses.update(id, { name: "Renamed", settings: { timezone: "America/Los_Angeles" } });
  assert.equal(updated.name, "Renamed");
  assert.equal(updated.settings.timezone, "America/Los_Angeles");
  assert.deepEqual(updated.settings.reminders, { enabled: true, hours_before: [24] }, "settings not sent are kept");
  assert.equal((await admin.businesses.get(id)).name, "Renamed");

  const second = await admin.businesses.create({ name: "Second Co" });
  assert.match(second.id, /^business_/);
  const mine = await admin.businesses.list({ limit: 100 });
  assert.ok(mine.items.some((business) => business.id === second.id));
  assert.equal(mine.pagination.total, 2);

  const member = await admin.businesses.members.add(id, {
    email: uniqueEmail("member"),
    password: "member password",
    role: "user",
    first_name: "Mem",
  });
  assert.equal(member.role, "user");
  const members = await admin.businesses.members.list(id);
  assert.equal(members.pagination.total, 2);
  assert.ok(members.items.some((user) => user.id === member.id));
});

test("logout answers 200; forgot-password always succeeds; a bad reset token is a 400", async () => {
  const { client: admin } = await registerAdmin("logout");
  await admin.auth.logout();
  const anonymous = client();
  await anonymous.auth.forgotPassword({ email: uniqueEmail("nobody") });
  await assert.rejects(anonymous.auth.resetPassword({ token: "not-a-real-token", password: "new password 1" }), (error) => {
    assert.ok(error instanceof BadRequestError);
    assert.equal(error.status, 400);
    assert.equal(error.code, "AUTH_INVALID_TOKEN");
    return true;
  });
});
