"""Shared helpers for the live tests: the stack's address, fresh accounts, raw webhook posts, and
a local endpoint receiving the stack's own webhooks."""

import json
import os
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar

T = TypeVar("T")

from cloudgreet import CloudGreetClient

PASSWORD = "correct-horse-battery"


def base_url() -> str:
    url = os.environ.get("CLOUDGREET_BASE_URL")
    if not url:
        raise unittest.SkipTest(
            "CLOUDGREET_BASE_URL is not set: these tests need a live stack "
            "(run clients/python/run-tests.sh, or scripts/with-stack.sh python3 -m unittest ...)"
        )
    return url


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


class Account:
    """A fresh user and business: ``admin`` uses the user's JWT, ``key`` an admin API key."""

    def __init__(self, label: str = "sdk") -> None:
        self.base_url = base_url()
        self.anonymous = CloudGreetClient(base_url=self.base_url, timeout=10)
        self.email = f"{unique(label + '-')}@example.com"
        self.session = self.anonymous.auth.register(
            email=self.email, password=PASSWORD, business_name=f"{label} business", first_name="Test", last_name="User"
        )
        assert self.session.business is not None and self.session.user is not None
        self.business_id = self.session.business.id
        self.admin = self.anonymous.with_token(self.session.token)
        self.api_key = self.admin.businesses.api_keys.create(self.business_id, name=f"{label} key", role="admin")
        assert self.api_key.key
        self.key = CloudGreetClient(api_key=self.api_key.key, base_url=self.base_url, timeout=10)

    def client(self, **options: Any) -> CloudGreetClient:
        return CloudGreetClient(api_key=self.api_key.key, base_url=self.base_url, **options)


def post_raw(path: str, body: bytes, headers: Dict[str, str]) -> Tuple[int, Dict[str, Any]]:
    """POSTs ``body`` as is (webhooks must be signed over the exact bytes sent)."""
    request = urllib.request.Request(
        base_url() + path, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def env(name: str) -> Optional[str]:
    value = os.environ.get(name)
    return value if value else None


def eventually(probe: Callable[[], T], timeout: float = 20.0, interval: float = 0.2) -> T:
    """Calls ``probe`` until it returns something truthy, at most ``timeout`` seconds; the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Received:
    """One request the :class:`Receiver` got: headers with lower-case names, the raw body."""

    def __init__(self, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.path = path
        self.headers = headers
        self.body = body

    @property
    def event_id(self) -> Optional[str]:
        return self.headers.get("cloudgreet-event-id")

    @property
    def event_type(self) -> Optional[str]:
        return self.headers.get("cloudgreet-event-type")

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A webhook endpoint on 127.0.0.1 (a free port) that records every POST and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.received: List[Received] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._changed:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/cloudgreet/webhooks"

    def wait_for(self, matches: Callable[[Received], bool], count: int = 1, timeout: float = 20.0) -> List[Received]:
        """The requests ``matches`` accepts, once there are ``count`` of them (fewer after ``timeout`` s)."""
        def found() -> List[Received]:
            return [r for r in self.received if matches(r)]

        with self._changed:
            self._changed.wait_for(lambda: len(found()) >= count, timeout)
            return found()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
