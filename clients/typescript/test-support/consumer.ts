// Compiled (not run) by run-tests.sh against dist/*.d.ts: the published typings as a user sees them.
import {
  CloudGreetClient,
  NotFoundError,
  ValidationError,
  CLOUDGREET_SIGNATURE_HEADER,
  verifyCloudGreetSignature,
  verifyRetellSignature,
  verifyTelnyxSignature,
  type Lead,
  type Page,
  type RetryInfo,
  type Webhook,
  type WebhookDelivery,
  type WebhookEvent,
  type WebhookWithSecret,
} from "@cloudgreet/api-client";

export async function example(apiKey: string, raw: Uint8Array, headers: Record<string, string | string[] | undefined>) {
  const retries: RetryInfo[] = [];
  const client = new CloudGreetClient({ apiKey, baseUrl: "http://localhost:8080/api", onRetry: (info) => retries.push(info) });
  const leads: Page<Lead> = await client.leads.list({ business_id: "business_123" });
  const first: Lead | undefined = leads.items[0];
  const total: number = leads.pagination.total;
  for await (const lead of client.leads.iterate({ status: "new", limit: 50 })) lead.phone?.startsWith("+");
  const lead = await client.leads.create({ phone: "+15551234567", source: "web" });
  const qualified = await client.leads.qualify(lead.id, { criteria: { budget: "high", timeline: "immediate", decision_maker: true } });
  const score: number = qualified.qualification.score;
  const appointment = await client.appointments.create({ lead_id: lead.id, scheduled_date: "2030-01-20T14:00:00Z", duration: 30 });
  await client.appointments.remind(appointment.id, { method: "sms" });
  const agent = await client.agents.create({ name: "Front desk", voice_settings: { speed: 1 } });
  const status = await client.agents.status(agent.id);
  const key = await client.businesses.apiKeys.create("business_123", { name: "ci", role: "user" });
  const overview = await client.analytics.overview({ start_date: "2030-01-01" });
  const growth: number | null = overview.revenue.growth_rate;
  const sms = await client.sms.send({ lead_id: lead.id, message: "Hi" });
  const health = await client.health({ cache: false });
  try {
    await client.leads.get("lead_x", { timeoutMs: 1000, requestId: "abc" });
  } catch (error) {
    if (error instanceof ValidationError) error.fieldErrors["phone"]?.join(", ");
    if (error instanceof NotFoundError) error.code.toLowerCase();
  }
  const telnyx: boolean = verifyTelnyxSignature({
    rawBody: raw,
    signature: headers["telnyx-signature-ed25519"],
    timestamp: headers["telnyx-timestamp"],
    publicKey: "base64",
  });
  const retell: boolean = verifyRetellSignature({ rawBody: "{}", signature: headers["x-retell-signature"], apiKey: "k" });
  const hook: WebhookWithSecret = await client.webhooks.create({ url: "https://example.com/hooks", events: ["lead.created"] });
  const hooks: Page<Webhook> = await client.webhooks.list({ limit: 10 });
  for await (const each of client.webhooks.iterate()) each.status === "disabled";
  const log: Page<WebhookDelivery> = await client.webhooks.deliveries(hook.id, { page: 1 });
  const code: number | null = log.items[0].status_code;
  const queued: true = (await client.webhooks.test(hook.id)).queued;
  await client.webhooks.redeliver(hook.id, log.items[0].event_id);
  const gone: true = (await client.webhooks.delete(hook.id)).deleted;
  const genuine: boolean = verifyCloudGreetSignature({ rawBody: raw, signature: headers[CLOUDGREET_SIGNATURE_HEADER], secret: hook.secret });
  const event = JSON.parse(new TextDecoder().decode(raw)) as WebhookEvent<Lead>;
  const leadId: string = event.data.id;
  // @ts-expect-error: an unknown event type
  await client.webhooks.create({ url: "https://example.com/hooks", events: ["lead.exploded"] });
  // @ts-expect-error: ids are strings
  await client.leads.get(42);
  // @ts-expect-error: an unknown lead status
  await client.leads.list({ status: "hot" });
  return { first, total, score, status, key: key.key, growth, sms: sms.id, overall: health.overall, telnyx, retell, retries,
    hooks: hooks.items.length, code, queued, gone, genuine, leadId };
}
