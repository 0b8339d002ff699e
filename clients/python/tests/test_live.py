"""The SDK against a live stack (CLOUDGREET_BASE_URL; see run-tests.sh)."""

import datetime as dt
import json
import os
import threading
import time
import unittest

from cloudgreet import (
    SMS,
    Agent,
    ApiKey,
    Appointment,
    AuthenticationError,
    CloudGreetClient,
    ConflictError,
    Email,
    Lead,
    NotFoundError,
    Page,
    PermissionDeniedError,
    ValidationError,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from cloudgreet.webhooks import CLOUDGREET_SIGNATURE_HEADER, verify_cloudgreet, verify_cloudgreet_headers

from .support import PASSWORD, Account, Receiver, base_url, eventually, unique

MISSING_LEAD = "lead_01ARZ3NDEKTSV4RRFFQ69G5FAV"


class LiveTestCase(unittest.TestCase):
    account: Account

    @classmethod
    def setUpClass(cls) -> None:
        base_url()  # skips the class without a stack
        cls.account = Account(cls.__name__.lower())


class AuthAndKeysTest(LiveTestCase):
    def test_register_then_api_key_client(self) -> None:
        a = self.account
        self.assertTrue(a.session.token)
        self.assertEqual(a.session.user.role, "admin")
        self.assertEqual(a.session.user.business_id, a.business_id)
        self.assertTrue(a.api_key.key.startswith("cg_"))
        self.assertEqual(a.api_key.role, "admin")
        # The API key client acts on the same business.
        business = a.key.businesses.get(a.business_id)
        self.assertEqual(business.id, a.business_id)
        self.assertEqual(business.settings.get("timezone"), "America/New_York")
        listed = a.admin.businesses.api_keys.list(a.business_id)
        self.assertIsInstance(listed, Page)
        mine = [k for k in listed.items if k.id == a.api_key.id]
        self.assertEqual(len(mine), 1)
        self.assertIsNone(mine[0].key, "listing must not show the secret")
        self.assertFalse(mine[0].revoked)

    def test_login_and_with_token(self) -> None:
        a = self.account
        session = a.anonymous.auth.login(email=a.email.upper(), password=PASSWORD)
        self.assertEqual(session.user.id, a.session.user.id)
        self.assertEqual(session.expires_in, a.session.expires_in)
        user_client = a.anonymous.with_token(session.token)
        self.assertEqual([b.id for b in user_client.businesses.list_all()], [a.business_id])
        user_client.auth.logout()

    def test_revoke_api_key(self) -> None:
        a = self.account
        extra = a.admin.businesses.api_keys.create(a.business_id, name="to revoke", role="user")
        revoked = a.admin.businesses.api_keys.revoke(a.business_id, extra.id)
        self.assertIsInstance(revoked, ApiKey)
        self.assertTrue(revoked.revoked)
        self.assertTrue(a.admin.businesses.api_keys.revoke(a.business_id, extra.id).revoked)  # idempotent

    def test_bad_api_key_is_authentication_error(self) -> None:
        bad = CloudGreetClient(api_key="cg_" + "x" * 43, base_url=base_url(), max_retries=0)
        with self.assertRaises(AuthenticationError) as caught:
            bad.leads.list()
        self.assertEqual(caught.exception.status, 401)
        self.assertEqual(caught.exception.code, "AUTH_INVALID_TOKEN")
        self.assertTrue(caught.exception.request_id)

    def test_no_credentials_and_wrong_password(self) -> None:
        with self.assertRaises(AuthenticationError) as caught:
            self.account.anonymous.leads.list()
        self.assertEqual(caught.exception.code, "AUTH_REQUIRED")
        with self.assertRaises(AuthenticationError) as caught:
            self.account.anonymous.auth.login(email=self.account.email, password="wrong password")
        self.assertEqual(caught.exception.code, "AUTH_INVALID_CREDENTIALS")

    def test_password_endpoints(self) -> None:
        self.assertIsNone(self.account.anonymous.auth.forgot_password(email="nobody@example.com"))
        with self.assertRaises(ValidationError) as caught:
            self.account.anonymous.auth.reset_password(token="not-a-token", password="new password 1")
        self.assertEqual((caught.exception.status, caught.exception.code), (400, "AUTH_INVALID_TOKEN"))

    def test_duplicate_registration_is_conflict(self) -> None:
        with self.assertRaises(ConflictError) as caught:
            self.account.anonymous.auth.register(email=self.account.email, password=PASSWORD, business_name="again")
        self.assertEqual(caught.exception.code, "RESOURCE_ALREADY_EXISTS")


class BusinessesTest(LiveTestCase):
    def test_update_merges_settings(self) -> None:
        a = self.account
        updated = a.key.businesses.update(a.business_id, name="Renamed", settings={"sms_auto_reply": "Thanks!"})
        self.assertEqual(updated.name, "Renamed")
        self.assertEqual(updated.settings["sms_auto_reply"], "Thanks!")
        self.assertEqual(updated.settings["timezone"], "America/New_York")  # kept
        with self.assertRaises(ValidationError) as caught:
            a.key.businesses.update(a.business_id, settings={"timezone": "Mars/Olympus"})
        self.assertIn("settings.timezone", caught.exception.details)

    def test_members_and_roles(self) -> None:
        a = self.account
        email = f"{unique('member-')}@example.com"
        member = a.admin.businesses.members.add(a.business_id, email=email, password=PASSWORD, role="user",
                                                first_name="Mem")
        self.assertEqual((member.email, member.role), (email, "user"))
        self.assertIn(email, [m.email for m in a.key.businesses.members.iterate(a.business_id)])
        user = a.anonymous.with_token(a.anonymous.auth.login(email=email, password=PASSWORD).token)
        lead = user.leads.create(email=f"{unique('role-')}@example.com")
        with self.assertRaises(PermissionDeniedError) as caught:
            user.leads.delete(lead.id)  # deleting leads is for admins
        self.assertEqual((caught.exception.status, caught.exception.code), (403, "AUTH_INSUFFICIENT_PERMISSIONS"))

    def test_other_business_id_is_forbidden(self) -> None:
        other = Account("other")
        with self.assertRaises(PermissionDeniedError):
            self.account.key.leads.list(business_id=other.business_id)
        with self.assertRaises(NotFoundError) as caught:
            self.account.key.businesses.get(other.business_id)
        self.assertEqual(caught.exception.code, "BUSINESS_NOT_FOUND")


class LeadsTest(LiveTestCase):
    def test_create_list_get_update_qualify_delete(self) -> None:
        a = self.account
        lead = a.key.leads.create(name="Jane Roe", phone="(555) 201-0001", email=f"{unique('jane-')}@example.com",
                                  notes="Wants a quote")
        self.assertIsInstance(lead, Lead)
        self.assertTrue(lead.id.startswith("lead_"))
        self.assertEqual((lead.phone, lead.status, lead.source), ("+15552010001", "new", "web"))
        self.assertIsInstance(lead.created_at, dt.datetime)
        # The seed's call: client.leads.list(business_id=...)
        page = a.key.leads.list(business_id=a.business_id)
        self.assertIn(lead.id, [item.id for item in page])
        self.assertEqual(a.key.leads.get(lead.id).email, lead.email)
        self.assertEqual(a.key.leads.list(search="jane roe").items[0].id, lead.id)
        updated = a.key.leads.update(lead.id, name="Jane Smith", notes=None)
        self.assertEqual((updated.name, updated.notes, updated.phone), ("Jane Smith", None, "+15552010001"))
        scored = a.key.leads.qualify(lead.id, budget="high", timeline="immediate", decision_maker=True)
        self.assertEqual(scored.qualification.score, 75)
        self.assertEqual(scored.qualification_score, 75)
        self.assertEqual(scored.status, "qualified")
        self.assertEqual(sum(f.points for f in scored.qualification.breakdown), 75)
        deleted = a.key.leads.delete(lead.id)
        self.assertTrue(deleted.deleted)
        assert deleted.erasure is not None
        self.assertEqual((deleted.erasure.status, deleted.erasure.pending), ("complete", []))  # every service was up
        self.assertTrue(deleted.erasure.id.startswith("erasure_"))
        with self.assertRaises(NotFoundError):
            a.key.leads.get(lead.id)

    def test_not_found_has_code_and_request_id(self) -> None:
        with self.assertRaises(NotFoundError) as caught:
            self.account.key.leads.get(MISSING_LEAD)
        error = caught.exception
        self.assertEqual((error.status, error.code), (404, "LEAD_NOT_FOUND"))
        self.assertTrue(error.request_id)
        self.assertEqual(error.details, {})
        # A request id of our own is kept.
        with self.assertRaises(NotFoundError) as caught:
            self.account.key.leads.get(MISSING_LEAD, request_id="sdk-test.42")
        self.assertEqual(caught.exception.request_id, "sdk-test.42")

    def test_validation_error_has_field_details(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            self.account.key.leads.create(phone="not a phone", email="not an email", source="fax")
        error = caught.exception
        self.assertEqual((error.status, error.code), (422, "VALIDATION_ERROR"))
        self.assertEqual(set(error.field_errors), {"phone", "email", "source"})
        self.assertTrue(all(messages and isinstance(messages[0], str) for messages in error.details.values()))
        with self.assertRaises(ValidationError) as caught:
            self.account.key.leads.list(limit=0)
        self.assertIn("limit", caught.exception.details)

    def test_same_idempotency_key_answers_the_first_lead_again(self) -> None:
        core = self.account.key._core
        body = {"email": f"{unique('idem-')}@example.com"}
        key = unique("key-")
        first = core.request("POST", "/leads", body=body, idempotency_key=key)
        again = core.request("POST", "/leads", body=body, idempotency_key=key)
        self.assertEqual((first.status, again.status), (201, 201))
        self.assertEqual(again.data["id"], first.data["id"])
        self.assertEqual(again.headers.get("idempotent-replayed"), "true")
        self.assertNotEqual(again.request_id, first.request_id)
        with self.assertRaises(ValidationError) as caught:
            core.request("POST", "/leads", body={"email": f"{unique('other-')}@example.com"}, idempotency_key=key)
        self.assertEqual(caught.exception.code, "IDEMPOTENCY_KEY_REUSED")

    def test_duplicate_lead_is_conflict_with_existing_id(self) -> None:
        email = f"{unique('dup-')}@example.com"
        first = self.account.key.leads.create(email=email)
        with self.assertRaises(ConflictError) as caught:
            self.account.key.leads.create(email=email)
        self.assertEqual(caught.exception.details.get("existing_id"), first.id)


class PaginationTest(LiveTestCase):
    def test_pages_and_iteration(self) -> None:
        client = self.account.key  # a fresh business: exactly these leads
        created = [client.leads.create(email=f"{unique(f'page{i}-')}@example.com", name=f"Lead {i}") for i in range(23)]
        first = client.leads.list(limit=10)
        self.assertEqual(len(first.items), 10)
        p = first.pagination
        self.assertEqual((p.page, p.limit, p.total, p.pages), (1, 10, 23, 3))
        self.assertTrue(first.has_more)
        self.assertEqual(first.items[0].id, created[-1].id, "newest first")
        last = client.leads.list(page=3, limit=10)
        self.assertEqual((len(last.items), last.has_more), (3, False))
        every = list(client.leads.iterate(limit=10))
        self.assertEqual(len(every), 23)
        self.assertEqual({lead.id for lead in every}, {lead.id for lead in created})
        self.assertEqual([lead.id for lead in client.leads.list_all(limit=7)], [lead.id for lead in every])
        self.assertEqual(client.leads.list(limit=500).pagination.limit, 100)  # clamped


class RateLimitTest(LiveTestCase):
    def test_429_is_retried_after_retry_after(self) -> None:
        limit = int(os.environ.get("RATE_LIMIT_AUTHENTICATED", "0") or 0)
        window = float(os.environ.get("RATE_LIMIT_WINDOW_SECONDS", "0") or 0)
        if not (0 < limit <= 100 and 0 < window <= 10):
            self.skipTest("needs a stack started with a small RATE_LIMIT_AUTHENTICATED and RATE_LIMIT_WINDOW_SECONDS")
        retries = []
        lock = threading.Lock()

        def on_retry(attempt: int, status, delay: float) -> None:
            with lock:
                retries.append((attempt, status, delay))

        a = self.account
        key = a.admin.businesses.api_keys.create(a.business_id, name="rate limit", role="user")
        client = CloudGreetClient(api_key=key.key, base_url=base_url(), on_retry=on_retry, max_retries=4, timeout=10)
        started = time.monotonic()
        calls = 0
        # More than `limit` requests inside one window; keep going a little after the first 429.
        while calls < limit * 5 and (not retries or calls < limit * 2 + 5):
            page = client.leads.list(limit=1)  # every call must succeed
            self.assertIsInstance(page, Page)
            calls += 1
        elapsed = time.monotonic() - started
        statuses = {status for _, status, _ in retries}
        self.assertEqual(statuses, {429}, f"retries seen: {retries}")
        self.assertTrue(all(1 <= delay <= window + 1 for _, _, delay in retries), retries)
        self.assertGreater(calls, limit)
        self.assertLess(elapsed, 30)


class AppointmentsTest(LiveTestCase):
    def test_book_list_update_remind_cancel(self) -> None:
        client = self.account.key
        lead = client.leads.create(name="Booker", phone="+15552010002")
        when = dt.datetime(2031, 3, 4, 15, 0, tzinfo=dt.timezone.utc)
        appointment = client.appointments.create(lead_id=lead.id, scheduled_date=when, duration=45,
                                                 type="consultation", value=120.5)
        self.assertIsInstance(appointment, Appointment)
        self.assertEqual((appointment.scheduled_date, appointment.duration, appointment.value), (when, 45, 120.5))
        with self.assertRaises(ConflictError) as caught:
            client.appointments.create(lead_id=lead.id, scheduled_date=when + dt.timedelta(minutes=15))
        self.assertEqual(caught.exception.details.get("conflicting_id"), appointment.id)
        listed = client.appointments.list(start_date=when, end_date=when + dt.timedelta(days=1))
        self.assertEqual([item.id for item in listed], [appointment.id])
        self.assertEqual([item.id for item in client.appointments.iterate(status="scheduled")], [appointment.id])
        moved = client.appointments.update(appointment.id, status="confirmed", value=None, notes="Bring plans")
        self.assertEqual((moved.status, moved.value, moved.notes), ("confirmed", None, "Bring plans"))
        reminder = client.appointments.remind(appointment.id, method="sms")
        self.assertEqual((reminder.appointment_id, reminder.method), (appointment.id, "sms"))
        self.assertTrue(reminder.message_id.startswith("sms_"))
        cancelled = client.appointments.cancel(appointment.id)
        self.assertEqual(cancelled.status, "cancelled")
        with self.assertRaises(NotFoundError) as caught:
            client.appointments.get("appointment_01ARZ3NDEKTSV4RRFFQ69G5FAV")
        self.assertEqual(caught.exception.code, "APPOINTMENT_NOT_FOUND")
        with self.assertRaises(ValidationError) as caught:
            client.appointments.create(lead_id=lead.id, scheduled_date="2001-01-01T10:00:00Z")
        self.assertIn("scheduled_date", caught.exception.details)


class AgentsCallsMessagesTest(LiveTestCase):
    def test_agents(self) -> None:
        client = self.account.key
        agent = client.agents.create(name="Front desk", voice_settings={"speed": 1.1},
                                     behavior_settings={"personality": "warm"},
                                     working_hours={"monday": {"open": "09:00", "close": "17:00"}})
        self.assertIsInstance(agent, Agent)
        self.assertEqual((agent.is_active, agent.status), (False, "inactive"))
        self.assertEqual(client.agents.get(agent.id).voice_settings, {"speed": 1.1})
        changed = client.agents.update(agent.id, name="Front desk 2", working_hours=None)
        self.assertEqual((changed.name, changed.working_hours), ("Front desk 2", None))
        self.assertEqual(changed.behavior_settings, {"personality": "warm"})  # not sent: kept
        self.assertIn(agent.id, [item.id for item in client.agents.list(status="inactive")])
        status = client.agents.status(agent.id)
        self.assertEqual((status.status, status.active_calls, status.uptime), ("inactive", 0, 0))
        with self.assertRaises(ValidationError) as caught:
            client.agents.update(agent.id, voice_settings={"speed": 9})
        self.assertIn("voice_settings.speed", caught.exception.details)
        self.assertTrue(client.agents.delete(agent.id).deleted)
        with self.assertRaises(NotFoundError) as caught:
            client.agents.get(agent.id)
        self.assertEqual(caught.exception.code, "AGENT_NOT_FOUND")

    def test_calls(self) -> None:
        page = self.account.key.calls.list(status="completed")
        self.assertEqual(page.pagination.total, 0)
        self.assertEqual(self.account.key.calls.list_all(), [])
        with self.assertRaises(NotFoundError):
            self.account.key.calls.get("call_01ARZ3NDEKTSV4RRFFQ69G5FAV")
        with self.assertRaises(ValidationError) as caught:
            self.account.key.calls.list(direction="sideways")
        self.assertIn("direction", caught.exception.details)

    def test_sms_and_email(self) -> None:
        client = self.account.key
        lead = client.leads.create(phone="+15552010003", email=f"{unique('msg-')}@example.com")
        sms = client.sms.send(lead_id=lead.id, message="Thanks for calling!")
        self.assertIsInstance(sms, SMS)
        self.assertEqual((sms.phone, sms.direction, sms.lead_id), ("+15552010003", "outbound", lead.id))
        self.assertIn(sms.id, [m.id for m in client.sms.list(lead_id=lead.id)])
        email = client.emails.send(to=lead.email, subject="Hello", content="Line one\nLine two", lead_id=lead.id)
        self.assertIsInstance(email, Email)
        self.assertEqual((email.to, email.subject), (lead.email, "Hello"))
        self.assertEqual([m.id for m in client.emails.iterate(lead_id=lead.id)], [email.id])


class WebhooksTest(LiveTestCase):
    """The business's own webhooks, delivered by the stack to an endpoint on this machine (the
    development stack allows http and local addresses)."""

    def test_deliveries_are_signed_logged_tested_and_redelivered(self) -> None:
        client = self.account.key
        receiver = Receiver()
        self.addCleanup(receiver.close)
        hook = client.webhooks.create(url=receiver.url, events=["lead.created"])
        self.assertIsInstance(hook, Webhook)
        self.assertTrue(hook.id.startswith("webhook_"))
        self.assertTrue(hook.secret and hook.secret.startswith("whsec_"))
        self.assertEqual((hook.url, hook.events, hook.status, hook.failing_since, hook.business_id),
                         (receiver.url, ["lead.created"], "active", None, self.account.business_id))
        listed = [w for w in client.webhooks.iterate() if w.id == hook.id]
        self.assertEqual(len(listed), 1)
        self.assertIsNone(listed[0].secret, "listing must not show the secret")

        # A new lead is POSTed to the endpoint, signed with the secret.
        lead = client.leads.create(name="Hook Lead", email=f"{unique('hook-')}@example.com")
        arrived = receiver.wait_for(lambda r: r.event_type == "lead.created")
        self.assertTrue(arrived, "no lead.created delivery within 20 s")
        first = arrived[0]
        self.assertEqual(first.path, "/cloudgreet/webhooks")
        self.assertEqual(first.headers.get("content-type"), "application/json")
        signature = first.headers.get(CLOUDGREET_SIGNATURE_HEADER.lower())
        self.assertRegex(signature or "", r"^t=\d+,v1=[0-9a-f]{64}$")
        self.assertTrue(verify_cloudgreet(first.body, signature, hook.secret))
        self.assertTrue(verify_cloudgreet_headers(first.body, first.headers, hook.secret))
        self.assertFalse(verify_cloudgreet(first.body.replace(b"Hook Lead", b"Hook Leak"), signature, hook.secret))
        self.assertFalse(verify_cloudgreet(first.body, signature, "whsec_" + "0" * 43))
        event = WebhookEvent.from_dict(first.json())
        self.assertTrue(event.id.startswith("evt_"))
        self.assertEqual((event.type, event.data["id"], event.data["email"]), ("lead.created", lead.id, lead.email))
        self.assertEqual(first.event_id, event.id)
        self.assertIsNotNone(event.created_at)

        # The delivery log shows the attempt and the endpoint's 2xx.
        def delivered() -> list:
            return [d for d in client.webhooks.deliveries(hook.id).items if d.event_id == event.id and d.succeeded]
        attempts = eventually(delivered)
        self.assertTrue(attempts, "the delivery log shows no successful attempt")
        attempt = attempts[0]
        self.assertIsInstance(attempt, WebhookDelivery)
        self.assertEqual((attempt.event_type, attempt.attempt, attempt.status_code, attempt.error),
                         ("lead.created", 1, 200, None))
        self.assertGreaterEqual(attempt.duration_ms, 0)
        self.assertIsNotNone(attempt.created_at)

        # A test event, for this endpoint alone.
        queued = client.webhooks.test(hook.id)
        self.assertTrue(queued.queued)
        self.assertTrue(queued.event_id.startswith("evt_"))
        tests = receiver.wait_for(lambda r: r.event_id == queued.event_id)
        self.assertTrue(tests, "the test event did not arrive within 20 s")
        self.assertTrue(verify_cloudgreet_headers(tests[0].body, tests[0].headers, hook.secret))
        body = tests[0].json()
        self.assertEqual((body["type"], tests[0].event_type, body["data"]["webhook_id"]),
                         ("webhook.test", "webhook.test", hook.id))

        # A redelivery carries the same event id and data, signed again.
        again = client.webhooks.redeliver(hook.id, event.id)
        self.assertEqual((again.event_id, again.queued), (event.id, True))
        copies = receiver.wait_for(lambda r: r.event_id == event.id, count=2)
        self.assertEqual(len(copies), 2, "the redelivery did not arrive within 20 s")
        self.assertTrue(verify_cloudgreet_headers(copies[1].body, copies[1].headers, hook.secret))
        self.assertEqual(copies[1].json(), first.json())
        with self.assertRaises(NotFoundError):
            client.webhooks.redeliver(hook.id, "evt_01ARZ3NDEKTSV4RRFFQ69G5FAV")
        self.assertEqual([r.event_type for r in receiver.received].count("lead.created"), 2)

        # Deleting drops the endpoint and its log.
        deleted = client.webhooks.delete(hook.id)
        self.assertEqual((deleted.id, deleted.deleted), (hook.id, True))
        self.assertNotIn(hook.id, [w.id for w in client.webhooks.list_all()])
        with self.assertRaises(NotFoundError) as caught:
            client.webhooks.deliveries(hook.id)
        self.assertEqual(caught.exception.code, "RESOURCE_NOT_FOUND")
        with self.assertRaises(NotFoundError):
            client.webhooks.delete(hook.id)

    def test_admins_only_and_validation(self) -> None:
        a = self.account
        user_key = a.admin.businesses.api_keys.create(a.business_id, name="webhooks user", role="user")
        user = a.admin.with_api_key(user_key.key)
        with self.assertRaises(PermissionDeniedError) as caught:
            user.webhooks.list()
        self.assertEqual((caught.exception.status, caught.exception.code), (403, "AUTH_INSUFFICIENT_PERMISSIONS"))
        with self.assertRaises(PermissionDeniedError):
            user.webhooks.create(url="http://127.0.0.1:9/hooks", events=["lead.created"])
        with self.assertRaises(ValidationError) as caught:
            a.key.webhooks.create(url="http://127.0.0.1:9/hooks", events=["lead.created", "lead.exploded"])
        self.assertEqual((caught.exception.status, caught.exception.code), (422, "VALIDATION_ERROR"))
        self.assertIn("events", caught.exception.details)
        with self.assertRaises(ValidationError) as caught:
            a.key.webhooks.create(url="http://127.0.0.1:9/hooks", events=[])
        self.assertIn("events", caught.exception.details)
        with self.assertRaises(NotFoundError):
            a.key.webhooks.test("webhook_01ARZ3NDEKTSV4RRFFQ69G5FAV")
        other = Account("hooks-other")
        theirs = other.key.webhooks.create(url="http://127.0.0.1:9/hooks", events=["sms.received"])
        with self.assertRaises(NotFoundError):  # another business's endpoint
            a.key.webhooks.deliveries(theirs.id)
        self.assertTrue(other.key.webhooks.delete(theirs.id).deleted)


class AnalyticsHealthTest(LiveTestCase):
    def test_analytics(self) -> None:
        client = self.account.admin
        client.leads.create(email=f"{unique('an-')}@example.com")
        overview = client.analytics.overview()
        self.assertGreaterEqual(overview.leads["total"], 1)
        self.assertIn("growth_rate", overview.revenue)
        scored = client.analytics.scored_leads(start_date=dt.date(2020, 1, 1))
        self.assertGreaterEqual(scored.total_leads, 1)
        self.assertEqual(set(scored.distribution), {"0-19", "20-39", "40-59", "60-79", "80-100"})
        agent_key = client.businesses.api_keys.create(self.account.business_id, name="agent", role="agent")
        with self.assertRaises(PermissionDeniedError):
            client.with_api_key(agent_key.key).analytics.overview()

    def test_health(self) -> None:
        health = CloudGreetClient(base_url=base_url()).health(cache=False)
        self.assertTrue(health.healthy, health)
        names = {check.name for check in health.checks}
        self.assertTrue({"gateway", "identity", "crm", "voice-agent", "messaging", "analytics"} <= names, names)


if __name__ == "__main__":
    unittest.main()
