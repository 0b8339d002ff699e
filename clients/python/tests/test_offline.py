"""The client's own logic without a server: retries, errors, encoding, models."""

import datetime as dt
import json
import subprocess
import sys
import unittest
import urllib.parse
from pathlib import Path

from cloudgreet import (
    NOT_GIVEN,
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    CloudGreetClient,
    CloudGreetError,
    ConflictError,
    ExternalServiceError,
    InternalServerError,
    Lead,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RawResponse,
    ServiceUnavailableError,
    ValidationError,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventQueued,
)
from cloudgreet._http import parse_retry_after
from cloudgreet.models import parse_datetime


def envelope(data=None, status=200, headers=None, **error):
    if error:
        body = {"success": False, "error": error.get("error", "Boom"), "code": error.get("code"),
                "details": error.get("details", {}), "requestId": "req_test", "timestamp": "2024-01-15T10:30:00Z"}
    else:
        body = {"success": True, "data": data, "requestId": "req_test", "timestamp": "2024-01-15T10:30:00Z"}
    return RawResponse(status, headers or {}, json.dumps(body).encode())


class FakeTransport:
    """Answers from a list, recording every request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def __call__(self, method, url, headers, body, timeout):
        self.requests.append({"method": method, "url": url, "headers": headers,
                              "body": json.loads(body) if body else None, "timeout": timeout})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client_with(*answers, **options):
    transport = FakeTransport(*answers)
    retries, sleeps = [], []
    client = CloudGreetClient(
        api_key="cg_test", base_url="http://api.test/api/", transport=transport,
        on_retry=lambda attempt, status, delay: retries.append((attempt, status, delay)),
        _sleep=sleeps.append, **options,
    )
    return client, transport, retries, sleeps


LEAD = {"id": "lead_1", "business_id": "business_1", "phone": "+15551234567", "status": "new",
        "created_at": "2024-01-15T10:30:00Z", "brand_new_field": {"x": 1}}
PAGE = {"leads": [LEAD], "pagination": {"page": 1, "limit": 20, "total": 1, "pages": 1}}


class RetryTest(unittest.TestCase):
    def test_429_waits_retry_after_then_succeeds(self):
        client, transport, retries, sleeps = client_with(
            envelope(status=429, headers={"Retry-After": "2"}, code="RATE_LIMIT_EXCEEDED"),
            envelope(status=429, headers={"Retry-After": "1"}, code="RATE_LIMIT_EXCEEDED"),
            envelope(PAGE),
        )
        page = client.leads.list(business_id="business_1")
        self.assertEqual([lead.id for lead in page], ["lead_1"])
        self.assertEqual(retries, [(1, 429, 2.0), (2, 429, 1.0)])
        self.assertEqual(sleeps, [2.0, 1.0])
        self.assertEqual(len(transport.requests), 3)

    def test_503_without_header_backs_off_exponentially(self):
        client, _, retries, sleeps = client_with(
            envelope(status=503, code="SERVICE_UNAVAILABLE"), envelope(status=503, code="SERVICE_UNAVAILABLE"),
            envelope(LEAD),
        )
        client.leads.get("lead_1")
        self.assertEqual([r[:2] for r in retries], [(1, 503), (2, 503)])
        self.assertTrue(0.5 <= sleeps[0] <= 0.55 and 1.0 <= sleeps[1] <= 1.1, sleeps)

    def test_post_is_retried_on_429_only_for_refusals(self):
        client, transport, retries, _ = client_with(
            envelope(status=429, headers={"Retry-After": "0"}, code="RATE_LIMIT_EXCEEDED"), envelope(LEAD, status=201)
        )
        lead = client.leads.create(phone="+15551234567")
        self.assertEqual(lead.id, "lead_1")
        self.assertEqual([r["method"] for r in transport.requests], ["POST", "POST"])
        client, transport, retries, _ = client_with(envelope(status=500, code="INTERNAL_SERVER_ERROR"))
        with self.assertRaises(InternalServerError):
            client.leads.create(phone="+15551234567")
        self.assertEqual((len(transport.requests), retries), (1, []))

    def test_posts_carry_one_idempotency_key_across_retries(self):
        # With its key a POST runs once however often it is sent, so even a bare 503 (which may
        # follow a time-out after crm created the lead) is sent again, with the same key.
        client, transport, retries, _ = client_with(
            envelope(status=503, code="SERVICE_UNAVAILABLE"), envelope(LEAD, status=201)
        )
        self.assertEqual(client.leads.create(phone="+15551234567").id, "lead_1")
        keys = [r["headers"].get("Idempotency-Key") for r in transport.requests]
        self.assertEqual(len(keys), 2)
        self.assertTrue(keys[0] and keys[0] == keys[1], keys)
        # Each call has its own key; reads carry none.
        client, transport, _, _ = client_with(envelope(LEAD, status=201), envelope(LEAD, status=201), envelope(LEAD))
        client.leads.create(phone="+15551234567")
        client.leads.create(phone="+15551234567")
        client.leads.get("lead_1")
        keys = [r["headers"].get("Idempotency-Key") for r in transport.requests]
        self.assertTrue(keys[0] != keys[1] and keys[2] is None, keys)

    def test_a_key_still_in_use_is_waited_out_but_a_duplicate_is_not(self):
        client, transport, retries, sleeps = client_with(
            envelope(status=409, headers={"Retry-After": "1"}, code="IDEMPOTENCY_KEY_IN_USE"), envelope(LEAD, status=201)
        )
        self.assertEqual(client.leads.create(phone="+15551234567").id, "lead_1")
        self.assertEqual((retries, sleeps), ([(1, 409, 1.0)], [1.0]))
        client, transport, retries, _ = client_with(envelope(status=409, code="RESOURCE_ALREADY_EXISTS"))
        with self.assertRaises(ConflictError):
            client.leads.create(phone="+15551234567")
        self.assertEqual((len(transport.requests), retries), (1, []))

    def test_gives_up_after_max_retries(self):
        answers = [envelope(status=429, headers={"Retry-After": "1"}, code="RATE_LIMIT_EXCEEDED")] * 3
        client, transport, retries, _ = client_with(*answers, max_retries=2)
        with self.assertRaises(RateLimitError) as caught:
            client.leads.list()
        self.assertEqual((len(transport.requests), len(retries)), (3, 2))
        self.assertEqual(caught.exception.retry_after, 1.0)
        self.assertEqual(caught.exception.code, "RATE_LIMIT_EXCEEDED")

    def test_long_retry_after_is_not_waited_for(self):
        client, transport, retries, _ = client_with(
            envelope(status=429, headers={"Retry-After": "3600"}, code="RATE_LIMIT_EXCEEDED"))
        with self.assertRaises(RateLimitError) as caught:
            client.leads.list()
        self.assertEqual((retries, caught.exception.retry_after), ([], 3600.0))

    def test_network_failures_are_retried(self):
        client, transport, retries, _ = client_with(APIConnectionError("refused"), APITimeoutError("slow"),
                                                    envelope(LEAD))
        self.assertEqual(client.leads.get("lead_1").id, "lead_1")
        self.assertEqual([r[:2] for r in retries], [(1, None), (2, None)])
        # A POST carries its Idempotency-Key, so a lost answer is asked for again with that key.
        client, transport, retries, _ = client_with(APITimeoutError("slow"), envelope({"id": "sms_1"}, status=201))
        client.sms.send(phone="+15551234567", message="hi")
        self.assertEqual([r[:2] for r in retries], [(1, None)])
        self.assertEqual(len({r["headers"]["Idempotency-Key"] for r in transport.requests}), 1)

    def test_retry_after_forms(self):
        self.assertEqual(parse_retry_after("3"), 3.0)
        self.assertEqual(parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480), 10.0)
        self.assertIsNone(parse_retry_after("soon"))
        self.assertIsNone(parse_retry_after(None))
        self.assertEqual(parse_retry_after("-5"), 0.0)


class ErrorTest(unittest.TestCase):
    def test_status_to_class(self):
        cases = {400: ValidationError, 401: AuthenticationError, 403: PermissionDeniedError, 404: NotFoundError,
                 409: ConflictError, 413: PayloadTooLargeError, 422: ValidationError, 429: RateLimitError,
                 500: InternalServerError, 502: ExternalServiceError, 503: ServiceUnavailableError,
                 418: CloudGreetError}
        for status, cls in cases.items():
            client, *_ = client_with(*[envelope(status=status, code="X", details={"f": ["bad"]})] * 4, max_retries=0)
            with self.assertRaises(cls) as caught:
                client.leads.list()
            self.assertIs(type(caught.exception), cls)
            e = caught.exception
            self.assertEqual((e.status, e.code, e.message, e.details, e.request_id), (status, "X", "Boom", {"f": ["bad"]}, "req_test"))
            self.assertIn("req_test", str(e))

    def test_non_json_error_body(self):
        client, *_ = client_with(RawResponse(502, {"X-Request-Id": "req_h"}, b"<html>bad gateway</html>"))
        with self.assertRaises(ExternalServiceError) as caught:
            client.leads.list()
        self.assertEqual((caught.exception.code, caught.exception.request_id, caught.exception.details),
                         (None, "req_h", {}))

    def test_unhealthy_health_report_is_returned(self):
        report = {"overall": "unhealthy", "checks": [{"name": "identity", "status": "unhealthy"}]}
        client, transport, retries, _ = client_with(envelope(status=503, headers={}, code="SERVICE_UNAVAILABLE"))
        transport.answers = [RawResponse(503, {}, json.dumps({"success": False, "data": report}).encode())]
        health = client.health()
        self.assertEqual((health.overall, health.healthy, health.checks[0].name), ("unhealthy", False, "identity"))
        self.assertEqual(retries, [])


class EncodingTest(unittest.TestCase):
    def test_headers_query_and_paths(self):
        client, transport, *_ = client_with(envelope(PAGE), envelope(LEAD))
        client.leads.list(business_id="business_1", search="a+b c", page=2, limit=5, request_id="rid-1")
        request = transport.requests[0]
        url = urllib.parse.urlsplit(request["url"])
        self.assertEqual(url.path, "/api/leads")
        self.assertEqual(urllib.parse.parse_qs(url.query),
                         {"business_id": ["business_1"], "search": ["a+b c"], "page": ["2"], "limit": ["5"]})
        self.assertEqual(request["headers"]["Authorization"], "Bearer cg_test")
        self.assertEqual(request["headers"]["X-Request-Id"], "rid-1")
        self.assertNotIn("Content-Type", request["headers"])
        client.leads.get("lead/../x")
        self.assertTrue(transport.requests[1]["url"].endswith("/api/leads/lead%2F..%2Fx"))

    def test_bodies_dates_and_not_given(self):
        appointment = {"id": "appointment_1", "scheduled_date": "2030-01-02T15:00:00Z", "value": 10}
        client, transport, *_ = client_with(envelope(appointment, status=201), envelope(appointment))
        client.appointments.create(lead_id="lead_1", scheduled_date=dt.datetime(2030, 1, 2, 15, 0), value=None)
        self.assertEqual(transport.requests[0]["body"],
                         {"lead_id": "lead_1", "scheduled_date": "2030-01-02T15:00:00Z"})
        updated = client.appointments.update("appointment_1", notes=None, duration=NOT_GIVEN, status="confirmed")
        self.assertEqual(transport.requests[1]["body"], {"notes": None, "status": "confirmed"})
        self.assertEqual(transport.requests[1]["method"], "PUT")
        self.assertEqual(updated.value, 10.0)
        self.assertIsInstance(updated.value, float)

    def test_with_token_keeps_settings(self):
        client, transport, *_ = client_with(envelope(PAGE))
        other = client.with_token("jwt.token.here")
        other.leads.list()
        self.assertEqual(transport.requests[0]["headers"]["Authorization"], "Bearer jwt.token.here")
        self.assertEqual(client._core.credential, "cg_test")
        with self.assertRaises(ValueError):
            CloudGreetClient(api_key="cg_x", token="jwt")


WEBHOOK = {"id": "webhook_1", "business_id": "business_1", "url": "https://hooks.example.com/cg",
           "events": ["lead.created"], "status": "active", "failing_since": None,
           "created_at": "2024-01-15T10:30:00Z"}


class WebhooksResourceTest(unittest.TestCase):
    def test_requests_and_models(self):
        delivery = {"id": "whd_1", "event_id": "evt_1", "event_type": "lead.created", "attempt": 1,
                    "status_code": 204, "duration_ms": 12, "error": None, "created_at": "2024-01-15T10:30:01Z"}
        queued = {"event_id": "evt_1", "queued": True}
        client, transport, *_ = client_with(
            envelope({**WEBHOOK, "secret": "whsec_abc"}, status=201),
            envelope({"webhooks": [WEBHOOK], "pagination": {"page": 1, "limit": 100, "total": 1, "pages": 1}}),
            envelope({"deliveries": [delivery], "pagination": {"page": 2, "limit": 5, "total": 6, "pages": 2}}),
            envelope(queued, status=202), envelope(queued, status=202),
            envelope({"id": "webhook_1", "deleted": True}),
        )
        created = client.webhooks.create(url="https://hooks.example.com/cg", events=("lead.created", "sms.received"))
        self.assertIsInstance(created, Webhook)
        self.assertEqual((created.id, created.secret, created.events, created.active),
                         ("webhook_1", "whsec_abc", ["lead.created"], True))
        self.assertNotIn("whsec_abc", repr(created))
        self.assertEqual([w.id for w in client.webhooks.iterate()], ["webhook_1"])
        page = client.webhooks.deliveries("webhook_1", page=2, limit=5)
        self.assertIsInstance(page.items[0], WebhookDelivery)
        self.assertEqual((page.items[0].status_code, page.items[0].succeeded, page.has_more), (204, True, False))
        test = client.webhooks.test("webhook_1")
        self.assertIsInstance(test, WebhookEventQueued)
        self.assertEqual((test.event_id, test.queued), ("evt_1", True))
        self.assertEqual(client.webhooks.redeliver("webhook_1", "evt_1").event_id, "evt_1")
        self.assertTrue(client.webhooks.delete("webhook_1").deleted)
        sent = [(r["method"], urllib.parse.urlsplit(r["url"]).path, urllib.parse.urlsplit(r["url"]).query)
                for r in transport.requests]
        self.assertEqual(sent, [
            ("POST", "/api/webhooks", ""),
            ("GET", "/api/webhooks", "page=1&limit=100"),
            ("GET", "/api/webhooks/webhook_1/deliveries", "page=2&limit=5"),
            ("POST", "/api/webhooks/webhook_1/test", ""),
            ("POST", "/api/webhooks/webhook_1/deliveries/evt_1/redeliver", ""),
            ("DELETE", "/api/webhooks/webhook_1", ""),
        ])
        self.assertEqual(transport.requests[0]["body"],
                         {"url": "https://hooks.example.com/cg", "events": ["lead.created", "sms.received"]})
        keys = [r["headers"].get("Idempotency-Key") for r in transport.requests]
        self.assertTrue(all(keys[i] for i in (0, 3, 4)) and len({keys[0], keys[3], keys[4]}) == 3, keys)
        self.assertIsNone(keys[1])
        with self.assertRaises(TypeError):
            client.webhooks.create(url="https://hooks.example.com/cg", events="lead.created")

    def test_event_body(self):
        event = WebhookEvent.from_dict({"id": "evt_1", "type": "lead.created", "created_at": "2024-01-15T10:30:00Z",
                                        "data": {"id": "lead_1"}})
        self.assertEqual((event.id, event.type, event.data), ("evt_1", "lead.created", {"id": "lead_1"}))
        self.assertEqual(event.created_at, dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.timezone.utc))


class ModelTest(unittest.TestCase):
    def test_unknown_fields_are_kept(self):
        lead = Lead.from_dict(LEAD)
        self.assertEqual(lead.raw["brand_new_field"], {"x": 1})
        self.assertEqual(lead.created_at, dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.timezone.utc))
        self.assertIsNone(lead.email)
        self.assertEqual(lead.to_dict(), LEAD)

    def test_datetimes(self):
        utc = dt.timezone.utc
        self.assertEqual(parse_datetime("2024-01-20T14:00:00.123Z"), dt.datetime(2024, 1, 20, 14, 0, 0, 123000, utc))
        self.assertEqual(parse_datetime("2024-01-20T09:00:00-05:00").astimezone(utc), dt.datetime(2024, 1, 20, 14, tzinfo=utc))
        self.assertEqual(parse_datetime("2024-01-20T14:00:00.1234567+00:00").microsecond, 123456)
        self.assertIsNone(parse_datetime("yesterday"))
        self.assertIsNone(parse_datetime(12))

    def test_import_needs_no_dependencies(self):
        root = Path(__file__).resolve().parent.parent
        code = "import sys, cloudgreet, cloudgreet.webhooks; print('cryptography' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout.strip(), "False")


if __name__ == "__main__":
    unittest.main()
