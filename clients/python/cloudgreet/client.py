"""``CloudGreetClient``: the entry point."""

from typing import Any, Callable, Mapping, Optional

from ._http import DEFAULT_BASE_URL, HTTPCore, RetryCallback, Transport, split_credentials
from .models import Health
from .resources import (
    Agents,
    Analytics,
    Appointments,
    Auth,
    Businesses,
    Calls,
    Emails,
    Leads,
    SMSMessages,
    Webhooks,
)

__all__ = ["CloudGreetClient", "DEFAULT_BASE_URL"]


class CloudGreetClient:
    """A client of the CloudGreet API.

    Args:
        api_key: an API key (``cg_...``), sent as ``Authorization: Bearer <key>``.
        token: a user's JWT (from ``auth.login``/``auth.register``), sent the same way.
        base_url: the API's base URL, ending in ``/api``.
        timeout: seconds to wait for each HTTP attempt.
        max_retries: how many times a request answered 429 or 503 is sent again (waiting
            ``Retry-After`` seconds, else 0.5 s, 1 s, 2 s, ...). POSTs are retried too, since a 429/503
            means the request was refused, not processed; network failures are retried only for
            GET, PUT and DELETE.
        on_retry: ``on_retry(attempt, status, delay)`` called before each retry (``status`` is
            ``None`` for a network failure).
        max_retry_delay: a ``Retry-After`` longer than this many seconds is not waited for: the
            error is raised at once (``RateLimitError.retry_after`` says how long to wait).
        default_headers: extra headers sent with every request.
        transport: replaces the ``urllib`` transport (for tests and custom networking):
            ``transport(method, url, headers, body, timeout) -> RawResponse``.

    The client is thread-safe as long as ``on_retry`` is. It never changes its own credential:
    after ``auth.login`` use :meth:`with_token` to get a client acting as that user.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        token: Optional[str] = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        max_retries: int = 3,
        on_retry: Optional[RetryCallback] = None,
        *,
        max_retry_delay: float = 60.0,
        default_headers: Optional[Mapping[str, str]] = None,
        transport: Optional[Transport] = None,
        _sleep: Optional[Callable[[float], None]] = None,
    ) -> None:
        api_key, token = split_credentials(api_key, token)
        self._core = HTTPCore(
            base_url=base_url,
            credential=api_key or token,
            timeout=timeout,
            max_retries=max_retries,
            on_retry=on_retry,
            max_retry_delay=max_retry_delay,
            default_headers=default_headers,
            transport=transport,
            sleep=_sleep,
        )
        self._mount()

    @classmethod
    def _from_core(cls, core: HTTPCore) -> "CloudGreetClient":
        client = cls.__new__(cls)
        client._core = core
        client._mount()
        return client

    def _mount(self) -> None:
        core = self._core
        self.auth = Auth(core)
        self.businesses = Businesses(core)
        self.leads = Leads(core)
        self.appointments = Appointments(core)
        self.agents = Agents(core)
        self.calls = Calls(core)
        self.sms = SMSMessages(core)
        self.emails = Emails(core)
        self.analytics = Analytics(core)
        self.webhooks = Webhooks(core)

    @property
    def base_url(self) -> str:
        return self._core.base_url

    def with_token(self, token: str) -> "CloudGreetClient":
        """A new client with the same settings that authenticates with ``token`` (a user JWT)."""
        if not token:
            raise ValueError("token is required")
        return self._from_core(self._core.copy(credential=token))

    def with_api_key(self, api_key: str) -> "CloudGreetClient":
        """A new client with the same settings that authenticates with ``api_key``."""
        if not api_key:
            raise ValueError("api_key is required")
        return self._from_core(self._core.copy(credential=api_key))

    def with_options(self, **options: Any) -> "CloudGreetClient":
        """A new client with some settings changed: ``timeout``, ``max_retries``, ``on_retry``,
        ``max_retry_delay``, ``base_url``, ``default_headers``."""
        allowed = {"timeout", "max_retries", "on_retry", "max_retry_delay", "base_url", "default_headers"}
        unknown = set(options) - allowed
        if unknown:
            raise TypeError(f"unknown options: {', '.join(sorted(unknown))}")
        return self._from_core(self._core.copy(**options))

    def health(self, *, detailed: Optional[bool] = None, cache: Optional[bool] = None,
               request_id: Optional[str] = None) -> Health:
        """``GET /health`` (no credentials needed). An ``unhealthy`` stack answers HTTP 503 with
        the report: it is returned, not raised (check ``health.overall`` / ``health.healthy``)."""
        result = self._core.request("GET", "/health", query=dict(detailed=detailed, cache=cache),
                                    request_id=request_id, data_on_error=(503,))
        return Health.from_dict(result.data if isinstance(result.data, dict) else {})

    def __repr__(self) -> str:
        kind = "none"
        credential = self._core.credential or ""
        if credential.startswith("cg_"):
            kind = "api_key"
        elif credential:
            kind = "token"
        return f"CloudGreetClient(base_url={self._core.base_url!r}, credential={kind})"
