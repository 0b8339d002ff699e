"""The HTTP core: one request, the envelope, errors and retries (standard library only)."""

import datetime as _dt
import decimal
import email.utils
import enum
import http.client
import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple

from ._version import __version__
from .errors import (
    APIConnectionError,
    APITimeoutError,
    CloudGreetError,
    error_for_status,
)

DEFAULT_BASE_URL = "http://localhost:8080/api"

#: ``on_retry(attempt, status, delay)``: ``attempt`` counts retries from 1, ``status`` is the
#: HTTP status that caused the retry (429 or 503), or ``None`` for a network failure,
#: ``delay`` the seconds the client is about to wait.
RetryCallback = Callable[[int, Optional[int], float], None]

RETRY_STATUSES = (429, 503)
#: Methods that may be sent again after a network failure (the request may have been processed).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class _Unset:
    """The type of :data:`NOT_GIVEN`: a field left out of an update (``None`` sends ``null``)."""

    _instance = None

    def __new__(cls) -> "_Unset":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _Unset()


class RawResponse:
    """What a transport returns: status, headers (lower-case names) and the body bytes."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body


#: ``transport(method, url, headers, body, timeout) -> RawResponse``; raises
#: :class:`APIConnectionError` / :class:`APITimeoutError` on network failures.
Transport = Callable[[str, str, Dict[str, str], Optional[bytes], float], RawResponse]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: the credential must not travel to another address."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect())


def _is_timeout(exc: object) -> bool:
    return isinstance(exc, (socket.timeout, TimeoutError))


def urllib_transport(
    method: str, url: str, headers: Dict[str, str], body: Optional[bytes], timeout: float
) -> RawResponse:
    """The default transport: ``urllib.request``."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=timeout) as response:
            return RawResponse(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        try:
            data = exc.read()
        except Exception:  # the error body could not be read: keep the status
            data = b""
        finally:
            exc.close()
        return RawResponse(exc.code, dict(exc.headers.items()) if exc.headers else {}, data)
    except urllib.error.URLError as exc:
        if _is_timeout(exc.reason):
            raise APITimeoutError(f"Request timed out after {timeout} s: {method} {url}") from exc
        raise APIConnectionError(f"Could not connect to {url}: {exc.reason}") from exc
    except Exception as exc:
        if _is_timeout(exc):
            raise APITimeoutError(f"Request timed out after {timeout} s: {method} {url}") from exc
        if isinstance(exc, (OSError, http.client.HTTPException)):
            raise APIConnectionError(f"Connection failed: {method} {url}: {exc}") from exc
        raise


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; ``None`` when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def format_datetime(value: _dt.datetime) -> str:
    """ISO 8601 with an offset; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return format_datetime(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, enum.Enum):
        return value.value
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_json(value: Any) -> bytes:
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.datetime):
        return format_datetime(value)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def encode_query(params: Optional[Mapping[str, Any]]) -> str:
    """Form encoding (``+`` for a space, as the API reads it); ``None`` values are left out."""
    if not params:
        return ""
    pairs = [(k, _query_value(v)) for k, v in params.items() if v is not None and v is not NOT_GIVEN]
    return urllib.parse.urlencode(pairs)


def path_segment(value: str) -> str:
    """An id as one path segment (percent-encoded, ``/`` included)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"an id must be a non-empty string, not {value!r}")
    return urllib.parse.quote(value, safe="")


def compact(fields: Mapping[str, Any]) -> Dict[str, Any]:
    """A create body: ``None`` and ``NOT_GIVEN`` are left out."""
    return {k: v for k, v in fields.items() if v is not None and v is not NOT_GIVEN}


def changes(fields: Mapping[str, Any]) -> Dict[str, Any]:
    """An update body: ``NOT_GIVEN`` is left out, ``None`` is sent as ``null``."""
    return {k: v for k, v in fields.items() if v is not NOT_GIVEN}


class Result:
    """A successful answer: ``data`` and the envelope around it."""

    __slots__ = ("status", "data", "message", "request_id", "headers")

    def __init__(self, status: int, data: Any, message: Optional[str], request_id: Optional[str], headers: Dict[str, str]):
        self.status = status
        self.data = data
        self.message = message
        self.request_id = request_id
        self.headers = headers


class HTTPCore:
    """Sends requests with credentials, decodes the envelope, raises errors and retries."""

    def __init__(
        self,
        *,
        base_url: str,
        credential: Optional[str],
        timeout: float,
        max_retries: int,
        on_retry: Optional[RetryCallback],
        max_retry_delay: float,
        default_headers: Optional[Mapping[str, str]],
        transport: Optional[Transport],
        sleep: Optional[Callable[[float], None]] = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required")
        if max_retries < 0:
            raise ValueError("max_retries must be at least 0")
        self.base_url = base_url.rstrip("/")
        self.credential = credential
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.on_retry = on_retry
        self.max_retry_delay = float(max_retry_delay)
        self.default_headers = dict(default_headers or {})
        self.transport: Transport = transport or urllib_transport
        self.sleep = sleep or time.sleep

    def copy(self, **changes_: Any) -> "HTTPCore":
        fields: Dict[str, Any] = dict(
            base_url=self.base_url,
            credential=self.credential,
            timeout=self.timeout,
            max_retries=self.max_retries,
            on_retry=self.on_retry,
            max_retry_delay=self.max_retry_delay,
            default_headers=self.default_headers,
            transport=self.transport,
            sleep=self.sleep,
        )
        fields.update(changes_)
        return HTTPCore(**fields)

    # -- one request -------------------------------------------------------------------------

    def _headers(self, has_body: bool, request_id: Optional[str]) -> Dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": f"cloudgreet-python/{__version__}"}
        headers.update(self.default_headers)
        if has_body:
            headers["Content-Type"] = "application/json"
        if self.credential:
            headers["Authorization"] = f"Bearer {self.credential}"
        if request_id:
            headers["X-Request-Id"] = request_id
        return headers

    def _backoff(self, attempt: int) -> float:
        """0.5 s, 1 s, 2 s, ... (at most 8 s), with up to 10% jitter."""
        base: float = min(8.0, 0.5 * (2.0 ** (attempt - 1)))
        return base * (1.0 + random.random() * 0.1)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        body: Any = None,
        request_id: Optional[str] = None,
        data_on_error: Iterable[int] = (),
        idempotency_key: Optional[str] = None,
    ) -> Result:
        """Sends one API call (retrying 429/503, and network failures of idempotent methods) and
        returns the decoded success envelope, or raises the matching :class:`CloudGreetError`.

        Every POST carries an ``Idempotency-Key`` (``idempotency_key``, else a fresh one per call,
        the same on each retry), so the gateway runs it once however often it is sent: a POST is
        then retried like any other call, and a ``409 IDEMPOTENCY_KEY_IN_USE`` (the first try still
        running) is waited out.

        ``data_on_error`` lists error statuses whose envelope ``data`` is still a useful answer
        (the health report with 503): they are returned, not raised nor retried."""
        method = method.upper()
        url = self.base_url + path
        qs = encode_query(query)
        if qs:
            url += "?" + qs
        payload = None if body is None else encode_json(body)
        headers = self._headers(payload is not None, request_id)
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        safe = method in IDEMPOTENT_METHODS or "Idempotency-Key" in headers
        attempt = 0
        while True:
            try:
                raw = self.transport(method, url, dict(headers), payload, self.timeout)
            except APIConnectionError:
                if safe and attempt < self.max_retries:
                    attempt += 1
                    delay = self._backoff(attempt)
                    self._notify(attempt, None, delay)
                    self.sleep(delay)
                    continue
                raise
            if raw.status in data_on_error:
                envelope = _decode(raw.body)
                if isinstance(envelope, dict) and isinstance(envelope.get("data"), dict):
                    return _result(raw, envelope)
            header_delay = parse_retry_after(raw.headers.get("retry-after"))
            # A bare 503 may follow a time-out after the service acted: sent again only when the
            # call is idempotent (or carries its key); with `Retry-After` the gateway refused it first.
            unsafe = raw.status == 503 and not safe and header_delay is None
            if (raw.status in RETRY_STATUSES or _key_in_use(raw)) and not unsafe and attempt < self.max_retries:
                delay = self._backoff(attempt + 1) if header_delay is None else header_delay
                if delay <= self.max_retry_delay:
                    attempt += 1
                    self._notify(attempt, raw.status, delay)
                    self.sleep(delay)
                    continue
            return self._finish(raw)

    def _notify(self, attempt: int, status: Optional[int], delay: float) -> None:
        if self.on_retry is not None:
            self.on_retry(attempt, status, delay)

    def _finish(self, raw: RawResponse) -> Result:
        envelope = _decode(raw.body)
        if 200 <= raw.status < 300:
            if raw.body.strip() and envelope is _INVALID:
                raise CloudGreetError(
                    "The API answered with a body that is not JSON",
                    status=raw.status,
                    request_id=raw.headers.get("x-request-id"),
                    headers=raw.headers,
                )
            return _result(raw, envelope if isinstance(envelope, dict) else {})
        raise _error(raw, envelope)


_INVALID = object()


def _key_in_use(raw: RawResponse) -> bool:
    """A 409 saying the first try with this Idempotency-Key is still running."""
    if raw.status != 409:
        return False
    envelope = _decode(raw.body)
    return isinstance(envelope, dict) and envelope.get("code") == "IDEMPOTENCY_KEY_IN_USE"


def _decode(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _INVALID


def _result(raw: RawResponse, envelope: Dict[str, Any]) -> Result:
    request_id = envelope.get("requestId") or raw.headers.get("x-request-id")
    message = envelope.get("message")
    return Result(raw.status, envelope.get("data"), message if isinstance(message, str) else None, request_id, raw.headers)


def _error(raw: RawResponse, envelope: Any) -> CloudGreetError:
    cls = error_for_status(raw.status)
    request_id = raw.headers.get("x-request-id")
    code: Optional[str] = None
    details: Dict[str, Any] = {}
    message = http.client.responses.get(raw.status, "HTTP error")
    body: Any = None
    if isinstance(envelope, dict):
        body = envelope
        request_id = envelope.get("requestId") or request_id
        if isinstance(envelope.get("code"), str):
            code = envelope["code"]
        if isinstance(envelope.get("details"), dict):
            details = envelope["details"]
        text = envelope.get("error") or envelope.get("message")
        if isinstance(text, str) and text:
            message = text
    return cls(
        message, status=raw.status, code=code, details=details, request_id=request_id, headers=raw.headers, body=body
    )


def split_credentials(api_key: Optional[str], token: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    if api_key and token:
        raise ValueError("pass api_key or token, not both")
    return api_key, token
