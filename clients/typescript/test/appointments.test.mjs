// Appointments: book, list/iterate (soonest first), update, remind, cancel, overlap and past-time errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConflictError, NotFoundError, ValidationError } from "../dist/index.js";
import { future, registerAdmin, uniquePhone } from "../test-support/live.mjs";

const { client } = await registerAdmin("appointments");
const lead = await client.leads.create({ name: "Appointment Lead", phone: uniquePhone(), email: "appt-lead@example.com" });

test("book, read, update, remind and cancel an appointment", async () => {
  const booked = await client.appointments.create({
    lead_id: lead.id,
    scheduled_date: future(3),
    duration: 45,
    type: "consultation",
    notes: "Initial consultation",
    value: 150.5,
  });
  assert.match(booked.id, /^appointment_/);
  assert.equal(booked.status, "scheduled");
  assert.equal(booked.duration, 45);
  assert.equal(booked.value, 150.5);
  assert.equal(booked.scheduled_date, future(3));
  assert.deepEqual(await client.appointments.get(booked.id), booked);

  const moved = await client.appointments.update(booked.id, { scheduled_date: future(4), status: "confirmed" });
  assert.equal(moved.status, "confirmed");
  assert.equal(moved.scheduled_date, future(4));

  const reminder = await client.appointments.remind(booked.id, { method: "sms", message: "See you soon" });
  assert.equal(reminder.appointment_id, booked.id);
  assert.equal(reminder.method, "sms");
  assert.match(reminder.message_id, /^sms_/);
  const texts = await client.sms.list({ lead_id: lead.id });
  assert.ok(texts.items.some((sms) => sms.id === reminder.message_id && sms.message === "See you soon"));

  const cancelled = await client.appointments.cancel(booked.id);
  assert.equal(cancelled.status, "cancelled");
  assert.equal((await client.appointments.cancel(booked.id)).status, "cancelled", "cancelling again is harmless");
});

test("appointments list soonest first and iterate across pages", async () => {
  const ids = [];
  for (let day = 10; day < 15; day++) {
    ids.push((await client.appointments.create({ lead_id: lead.id, scheduled_date: future(day), duration: 30 })).id);
  }
  const window = { start_date: future(10), end_date: future(15) };
  const page = await client.appointments.list({ ...window, limit: 2 });
  assert.deepEqual(page.pagination, { page: 1, limit: 2, total: 5, pages: 3 });
  assert.deepEqual(page.items.map((appointment) => appointment.id), ids.slice(0, 2));
  const seen = [];
  for await (const appointment of client.appointments.iterate({ ...window, limit: 2 })) seen.push(appointment.id);
  assert.deepEqual(seen, ids);
});

test("an overlapping booking is a ConflictError naming the other; a past time or unknown lead is refused", async () => {
  const first = await client.appointments.create({ lead_id: lead.id, scheduled_date: future(20), duration: 60 });
  await assert.rejects(client.appointments.create({ lead_id: lead.id, scheduled_date: future(20, 15, 30) }), (error) => {
    assert.ok(error instanceof ConflictError);
    assert.equal(error.details.conflicting_id, first.id);
    return true;
  });
  await assert.rejects(client.appointments.create({ lead_id: lead.id, scheduled_date: future(-1) }), (error) => {
    assert.ok(error instanceof ValidationError);
    assert.ok(error.details.scheduled_date);
    return true;
  });
  await assert.rejects(
    client.appointments.create({ lead_id: "lead_01ARZ3NDEKTSV4RRFFQ69G5FAV", scheduled_date: future(21) }),
    (error) => error instanceof NotFoundError && error.code === "LEAD_NOT_FOUND",
  );
  await assert.rejects(client.appointments.get("appointment_01ARZ3NDEKTSV4RRFFQ69G5FAV"), (error) => {
    return error instanceof NotFoundError && error.code === "APPOINTMENT_NOT_FOUND";
  });
});
