"""Webhook signatures: the verifiers offline, and the live stack accepting exactly what they accept."""

import base64
import hashlib
import hmac
import json
import sys
import time
import unittest
import uuid
from unittest import mock

from cloudgreet import webhooks

from .support import base_url, env, post_raw

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    HAVE_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover
    HAVE_CRYPTOGRAPHY = False


def new_keys():
    private = ed25519.Ed25519PrivateKey.generate()
    seed = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(seed).decode(), base64.b64encode(public).decode()


def telnyx_message_body(text: str = "Hi, do you have an opening tomorrow?") -> bytes:
    event = {
        "data": {
            "event_type": "message.received",
            "id": str(uuid.uuid4()),
            "occurred_at": "2024-01-15T10:30:00.000+00:00",
            "record_type": "event",
            "payload": {
                "id": str(uuid.uuid4()),
                "direction": "inbound",
                "from": {"phone_number": "+15557654321"},
                "to": [{"phone_number": "+15550001111", "status": "webhook_delivered"}],
                "text": text,
                "type": "SMS",
            },
        },
        "meta": {"attempt": 1, "delivered_to": "https://example.com/api/sms/webhook"},
    }
    return json.dumps(event).encode()


def retell_body() -> bytes:
    event = {
        "event": "call_analyzed",
        "call": {
            "call_id": f"retell_{uuid.uuid4().hex}",
            "transcript": "Agent: Hello! User: I'd like a quote.",
            "call_analysis": {"call_summary": "Asked for a quote", "user_sentiment": "Positive"},
        },
    }
    return json.dumps(event, separators=(",", ":")).encode()


@unittest.skipUnless(HAVE_CRYPTOGRAPHY, "cryptography is not installed (pip install 'cloudgreet-api[webhooks]')")
class TelnyxVerifierTest(unittest.TestCase):
    def setUp(self) -> None:
        self.private, self.public = new_keys()
        self.body = telnyx_message_body()

    def test_accepts_a_signed_body_and_refuses_changes(self) -> None:
        headers = webhooks.sign_telnyx(self.body, self.private)
        sig, ts = headers["telnyx-signature-ed25519"], headers["telnyx-timestamp"]
        self.assertTrue(webhooks.verify_telnyx(self.body, sig, ts, self.public))
        self.assertTrue(webhooks.verify_telnyx_headers(self.body, {"Telnyx-Signature-Ed25519": sig,
                                                                   "Telnyx-Timestamp": ts}, self.public))
        self.assertFalse(webhooks.verify_telnyx(self.body.replace(b"tomorrow", b"tomorroW"), sig, ts, self.public))
        self.assertFalse(webhooks.verify_telnyx(self.body, sig, str(int(ts) + 1), self.public))  # signed stamp
        self.assertFalse(webhooks.verify_telnyx(self.body, sig, ts, new_keys()[1]))  # another key
        self.assertFalse(webhooks.verify_telnyx(self.body, None, ts, self.public))
        self.assertFalse(webhooks.verify_telnyx(self.body, sig, None, self.public))
        self.assertFalse(webhooks.verify_telnyx(self.body, "not base64!", ts, self.public))
        self.assertFalse(webhooks.verify_telnyx(self.body, sig, f" {ts}", self.public))  # as Swift's Double()

    def test_timestamp_tolerance(self) -> None:
        now = 1_700_000_000
        headers = webhooks.sign_telnyx(self.body, self.private, timestamp=now)
        sig, ts = headers["telnyx-signature-ed25519"], headers["telnyx-timestamp"]
        self.assertTrue(webhooks.verify_telnyx(self.body, sig, ts, self.public, now=now + 300))
        self.assertTrue(webhooks.verify_telnyx(self.body, sig, ts, self.public, now=now - 300))
        self.assertFalse(webhooks.verify_telnyx(self.body, sig, ts, self.public, now=now + 301))
        self.assertFalse(webhooks.verify_telnyx(self.body, sig, ts, self.public))  # long ago: stale
        self.assertTrue(webhooks.verify_telnyx(self.body, sig, ts, self.public, tolerance=10**10))

    def test_bad_public_key_is_a_configuration_error(self) -> None:
        with self.assertRaises(ValueError):
            webhooks.verify_telnyx(self.body, "x", "1", base64.b64encode(b"short").decode())

    def test_missing_cryptography_has_a_clear_error(self) -> None:
        blocked = {"cryptography": None, "cryptography.exceptions": None,
                   "cryptography.hazmat.primitives.asymmetric": None}
        with mock.patch.dict(sys.modules, blocked):
            with self.assertRaises(ImportError) as caught:
                webhooks.verify_telnyx(self.body, "x", "1", self.public)
        self.assertIn("cloudgreet-api[webhooks]", str(caught.exception))


class RetellVerifierTest(unittest.TestCase):
    key = "key_retell_test_secret"

    def test_accepts_a_signed_body_and_refuses_changes(self) -> None:
        body = retell_body()
        signature = webhooks.sign_retell(body, self.key)
        self.assertTrue(webhooks.verify_retell(body, signature, self.key))
        self.assertTrue(webhooks.verify_retell_headers(body, {"X-Retell-Signature": signature}, self.key))
        self.assertFalse(webhooks.verify_retell(body.replace(b"quote", b"quota"), signature, self.key))
        self.assertFalse(webhooks.verify_retell(body, signature, "another key"))
        self.assertFalse(webhooks.verify_retell(body, None, self.key))
        self.assertFalse(webhooks.verify_retell(body, "v=123", self.key))
        self.assertFalse(webhooks.verify_retell(body, "garbage", self.key))

    def test_format_details_match_the_server(self) -> None:
        body, now = b'{"event":"call_ended","call":{"call_id":"c"}}', 1_700_000_000_000
        digest = hmac.new(self.key.encode(), body + str(now).encode(), hashlib.sha256).hexdigest()
        self.assertEqual(webhooks.sign_retell(body, self.key, timestamp_ms=now), f"v={now},d={digest}")
        for header in (f"v={now},d={digest}", f"d={digest},v={now}", f"v={now},d={digest.upper()}",
                       f" v={now}, d={digest}", f"v={now},x=1,d={digest}"):
            self.assertTrue(webhooks.verify_retell(body, header, self.key, now_ms=now), header)
        for header in (f"v={now},d={digest[:-1]}", f"v={now},d={digest}0", f"v= {now},d={digest}",
                       f"v={now}.0,d={digest}"):  # the timestamp text is part of the message
            self.assertFalse(webhooks.verify_retell(body, header, self.key, now_ms=now), header)
        self.assertTrue(webhooks.verify_retell(body, f"v={now},d={digest}", self.key, now_ms=now + 300_000))
        self.assertFalse(webhooks.verify_retell(body, f"v={now},d={digest}", self.key, now_ms=now + 300_001))
        self.assertFalse(webhooks.verify_retell(body, f"v={now},d={digest}", self.key))  # stale today


class CloudGreetVerifierTest(unittest.TestCase):
    """The signatures of the webhooks CloudGreet sends to a business's endpoints."""

    secret = "whsec_test_0123456789abcdef"
    body = b'{"id":"evt_01","type":"lead.created","created_at":"2024-01-15T10:30:00Z","data":{"id":"lead_1"}}'
    now = 1_700_000_000

    def digest(self, stamp: str, body: bytes = body, secret: str = secret) -> str:
        return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()

    def verify(self, header, body: bytes = body, **options) -> bool:
        options.setdefault("now", self.now)
        return webhooks.verify_cloudgreet(body, header, self.secret, **options)

    def test_round_trip(self) -> None:
        header = webhooks.sign_cloudgreet(self.body, self.secret, timestamp=self.now)
        self.assertEqual(header, f"t={self.now},v1={self.digest(str(self.now))}")
        self.assertTrue(self.verify(header))
        self.assertTrue(webhooks.verify_cloudgreet(self.body.decode(), header, self.secret, now=self.now))  # str body
        self.assertTrue(webhooks.verify_cloudgreet(bytearray(self.body), header, self.secret, now=self.now))
        fresh = webhooks.sign_cloudgreet(self.body, self.secret)  # now
        self.assertTrue(webhooks.verify_cloudgreet(self.body, fresh, self.secret))
        self.assertEqual(webhooks.CLOUDGREET_SIGNATURE_HEADER, "CloudGreet-Signature")
        for name in ("CloudGreet-Signature", "cloudgreet-signature", "CLOUDGREET-SIGNATURE"):
            self.assertTrue(webhooks.verify_cloudgreet_headers(self.body, {name: fresh}, self.secret), name)
        self.assertTrue(webhooks.verify_cloudgreet_headers(self.body, {"cloudgreet-signature": header}, self.secret,
                                                           now=self.now + 300))
        self.assertFalse(webhooks.verify_cloudgreet_headers(self.body, {"cloudgreet-signature": header}, self.secret,
                                                            tolerance=10, now=self.now + 11))
        self.assertFalse(webhooks.verify_cloudgreet_headers(self.body, {}, self.secret))

    def test_tampered_body_and_wrong_secret(self) -> None:
        header = webhooks.sign_cloudgreet(self.body, self.secret, timestamp=self.now)
        self.assertFalse(self.verify(header, self.body.replace(b"lead_1", b"lead_2")))
        self.assertFalse(self.verify(header, self.body + b" "))
        self.assertFalse(self.verify(header, json.dumps(json.loads(self.body)).encode()))  # re-serialised
        self.assertFalse(webhooks.verify_cloudgreet(self.body, header, "whsec_another", now=self.now))
        self.assertFalse(webhooks.verify_cloudgreet(self.body, header, "", now=self.now))
        self.assertFalse(webhooks.verify_cloudgreet(self.body, header, None, now=self.now))  # type: ignore[arg-type]
        # The timestamp is signed: another t with the same v1 does not verify.
        self.assertFalse(self.verify(f"t={self.now + 1},v1={self.digest(str(self.now))}", now=self.now + 1))

    def test_stale_and_future_timestamps(self) -> None:
        header = webhooks.sign_cloudgreet(self.body, self.secret, timestamp=self.now)
        self.assertTrue(self.verify(header, now=self.now + 300))
        self.assertTrue(self.verify(header, now=self.now - 300))
        self.assertFalse(self.verify(header, now=self.now + 301))  # stale
        self.assertFalse(self.verify(header, now=self.now - 301))  # from the future
        self.assertFalse(webhooks.verify_cloudgreet(self.body, header, self.secret))  # long ago: stale today
        self.assertTrue(self.verify(header, now=self.now + 3600, tolerance=3600))
        self.assertFalse(self.verify(header, now=self.now + 61, tolerance=60))
        future = webhooks.sign_cloudgreet(self.body, self.secret, timestamp=int(time.time()) + 400)
        self.assertFalse(webhooks.verify_cloudgreet(self.body, future, self.secret))

    def test_several_v1_values(self) -> None:
        good = self.digest(str(self.now))
        wrong = self.digest(str(self.now), secret="whsec_old")
        for header in (f"t={self.now},v1={wrong},v1={good}", f"t={self.now},v1={good},v1={wrong}",
                       f"v1={wrong},t={self.now},v1={good}", f"t={self.now},v1=zz,v1={good}"):
            self.assertTrue(self.verify(header), header)
        self.assertFalse(self.verify(f"t={self.now},v1={wrong},v1={wrong[::-1]}"))

    def test_header_details_match_the_server(self) -> None:
        good = self.digest(str(self.now))
        accepted = (
            f"t={self.now}, v1={good}",  # spaces around parts and values are trimmed
            f" t = {self.now} ,\tv1={good} ",
            f",,t={self.now},,v1={good},",  # empty parts are skipped
            f"t=1,t={self.now},v1={good}",  # the last t wins
            f"t={self.now},v0=abc,x=1,v1={good}",  # unknown parts are ignored
        )
        for header in accepted:
            self.assertTrue(self.verify(header), header)
        decimal = f"{self.now}.0"  # the timestamp text as sent is what was signed
        self.assertTrue(self.verify(f"t={decimal},v1={self.digest(decimal)}"))
        self.assertFalse(self.verify(f"t={decimal},v1={good}"))

    def test_malformed_headers(self) -> None:
        good = self.digest(str(self.now))
        refused = (
            None, "", "garbage", ",", "t=,v1=", f"v1={good}", f"t={self.now}", f"t={self.now},v1=",
            f"t={self.now};v1={good}", f"t=soon,v1={good}", f"t={self.now}s,v1={good}", f"t=,v1={good}",
            f"t={self.now},v1={good.upper()}",  # lower-case hex, as signed
            f"t={self.now},v1={good[:-1]}", f"t={self.now},v1={good}0", f"t={self.now},V1={good}",
            f"T={self.now},v1={good}", f"t={self.now},v1=\u00e9{good[1:]}", f"t=nan,v1={good}", f"t=inf,v1={good}",
        )
        for header in refused:
            self.assertFalse(self.verify(header), header)
        self.assertFalse(webhooks.verify_cloudgreet(self.body, 12345, self.secret))  # type: ignore[arg-type]


class LiveWebhookTest(unittest.TestCase):
    """Posts signed and tampered webhooks to the stack started by run-tests.sh with these keys."""

    @classmethod
    def setUpClass(cls) -> None:
        base_url()
        cls.private = env("CLOUDGREET_TEST_TELNYX_PRIVATE_KEY")
        cls.public = env("TELNYX_PUBLIC_KEY")
        cls.retell_key = env("RETELL_API_KEY")

    def test_telnyx_sms_webhook(self) -> None:
        if not (self.private and self.public and HAVE_CRYPTOGRAPHY):
            self.skipTest("needs TELNYX_PUBLIC_KEY and CLOUDGREET_TEST_TELNYX_PRIVATE_KEY (run-tests.sh sets both)")
        body = telnyx_message_body()
        headers = webhooks.sign_telnyx(body, self.private)
        sig, ts = headers["telnyx-signature-ed25519"], headers["telnyx-timestamp"]
        tampered = body.replace(b"tomorrow", b"tonight!")
        self.assertTrue(webhooks.verify_telnyx(body, sig, ts, self.public))
        self.assertFalse(webhooks.verify_telnyx(tampered, sig, ts, self.public))

        status, answer = post_raw("/sms/webhook", body, headers)
        self.assertEqual(status, 200, answer)
        self.assertEqual((answer["data"]["received"], answer["data"]["duplicate"]), (True, False))
        status, answer = post_raw("/sms/webhook", body, headers)  # a redelivery is acknowledged once more
        self.assertEqual((status, answer["data"]["duplicate"]), (200, True))

        status, answer = post_raw("/sms/webhook", tampered, headers)
        self.assertEqual((status, answer.get("code")), (401, "AUTH_INVALID_TOKEN"), answer)
        status, answer = post_raw("/sms/webhook", body, {})
        self.assertEqual(status, 401, answer)
        stale = webhooks.sign_telnyx(body, self.private, timestamp=int(time.time()) - 301)
        self.assertFalse(webhooks.verify_telnyx(body, stale["telnyx-signature-ed25519"],
                                                stale["telnyx-timestamp"], self.public))
        status, answer = post_raw("/sms/webhook", body, stale)
        self.assertEqual(status, 401, answer)

    def test_retell_webhook(self) -> None:
        if not self.retell_key:
            self.skipTest("needs RETELL_API_KEY (run-tests.sh sets it)")
        body = retell_body()  # a call the stack has never seen: still acknowledged (stored for later)
        signature = webhooks.sign_retell(body, self.retell_key)
        tampered = body.replace(b"quote", b"QUOTE")
        self.assertTrue(webhooks.verify_retell(body, signature, self.retell_key))
        self.assertFalse(webhooks.verify_retell(tampered, signature, self.retell_key))

        status, answer = post_raw("/retell/webhook", body, {"x-retell-signature": signature})
        self.assertEqual(status, 200, answer)
        self.assertTrue(answer["data"]["received"])
        self.assertTrue(answer["data"]["event_id"].endswith(":call_analyzed"))
        status, answer = post_raw("/retell/webhook", tampered, {"x-retell-signature": signature})
        self.assertEqual((status, answer.get("code")), (401, "AUTH_INVALID_TOKEN"), answer)
        stale = webhooks.sign_retell(body, self.retell_key, timestamp_ms=int(time.time() * 1000) - 301_000)
        self.assertFalse(webhooks.verify_retell(body, stale, self.retell_key))
        status, answer = post_raw("/retell/webhook", body, {"x-retell-signature": stale})
        self.assertEqual(status, 401, answer)


if __name__ == "__main__":
    unittest.main()
