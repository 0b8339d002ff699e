"""Shared helpers for the live tests: the stack's address, fresh accounts, raw webhook posts."""

import json
import os
import unittest
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, Optional, Tuple

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
